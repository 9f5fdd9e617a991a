"""The training step: when CUDA graphs are used, and (on a GPU) that replaying them trains as the eager step does."""

import copy

import pytest
import torch

from ban.lifecycle import run_member as train
from ban.models import build_model
from ban.objectives import get_objective
from ban.sgd import SGD
from ban.step import Stepper, make_step, teacher_confidence
from ban.tasks.image import Recipe, use_cuda_graphs

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


def test_cuda_graphs_only_on_cuda_and_never_for_objectives_with_their_own_generator():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    auto, off = Recipe.from_dict({}), Recipe.from_dict({"cuda_graphs": False})
    assert use_cuda_graphs(auto, cuda, get_objective("ban"))
    assert use_cuda_graphs(auto, cuda, get_objective("ce"))
    assert not use_cuda_graphs(auto, cpu, get_objective("ban"))
    assert not use_cuda_graphs(auto, cuda, get_objective("dkpp"))
    assert not use_cuda_graphs(off, cuda, get_objective("ban"))


def test_eager_stepper_returns_the_batch_loss_and_takes_one_sgd_step():
    torch.manual_seed(0)
    model = build_model("cnn", 1, 4, width=4, hidden=16)
    before = copy.deepcopy(model)
    opt = SGD(model.parameters(), lr=0.1)
    stepper = Stepper(make_step(model, None, get_objective("ce"), {}, opt, torch.device("cpu"), "fp32", None), opt, 8, graphs=False)
    x, y = torch.randn(8, 1, 12, 12), torch.randint(0, 4, (8,))
    loss, correct, confidence = stepper(x, y)
    assert confidence.tolist() == [0.0, 0.0]  # no teacher
    logits = before.train()(x)
    expected = torch.nn.functional.cross_entropy(logits, y)
    expected.backward()
    assert float(loss) == pytest.approx(float(expected.detach()), rel=1e-6)
    assert int(correct) == int((logits.argmax(dim=1) == y).sum())
    for old, new in zip(before.parameters(), model.parameters()):
        torch.testing.assert_close(new, (old - 0.1 * old.grad).detach())
    assert stepper.graph is None


def test_teacher_confidence_sums_max_probability_and_entropy_by_hand():
    # Rows: softmax(log [0.5, 0.25, 0.25]) and softmax(0, 0, 0, ...) of three classes.
    logits = torch.tensor([[0.0, -0.6931472, -0.6931472], [1.0, 1.0, 1.0]])
    max_prob, entropy = teacher_confidence(logits).tolist()
    # 0.5 + 1/3; H = 0.5 ln 2 + 2 · 0.25 ln 4 = 1.5 ln 2, plus ln 3 for the uniform row
    assert max_prob == pytest.approx(0.5 + 1 / 3, rel=1e-6)
    assert entropy == pytest.approx(1.5 * 0.6931472 + 1.0986123, rel=1e-6)
    assert teacher_confidence(torch.tensor([[0.0, -200.0]])).tolist() == pytest.approx([1.0, 0.0], abs=1e-6)  # 0 · log 0 = 0


@pytest.fixture
def deterministic_cudnn():
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


@needs_gpu
def test_graph_replay_trains_like_the_eager_step(deterministic_cudnn):
    device = torch.device("cuda")
    torch.manual_seed(0)
    teacher = build_model("cnn", 1, 4, width=4, hidden=16).to(device).eval().requires_grad_(False)
    student = build_model("cnn", 1, 4, width=4, hidden=16).to(device)
    runs = []
    for graphs in (False, True):
        model = copy.deepcopy(student)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        stepper = Stepper(make_step(model, teacher, get_objective("ban_l"), {}, opt, device, "fp32", None), opt, 16, graphs=graphs)
        gen = torch.Generator(device=device).manual_seed(1)
        losses = []
        for i in range(12):
            if i == 8:
                opt.param_groups[0]["lr"] = 0.02  # a new lr: the graph is recorded again
            n = 16 if i != 6 else 5  # one partial batch runs eagerly
            x = torch.randn(n, 1, 12, 12, device=device, generator=gen)
            y = torch.randint(0, 4, (n,), device=device, generator=gen)
            loss, _, _ = stepper(x, y)
            losses.append(float(loss))
        runs.append((losses, [p.detach().clone() for p in model.parameters()], stepper))
    (eager_losses, eager_params, _), (graph_losses, graph_params, graphed) = runs
    assert graphed.graph is not None and graphed.graph_lr == 0.02
    assert graph_losses == pytest.approx(eager_losses, rel=1e-4)
    for a, b in zip(eager_params, graph_params):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@needs_gpu
def test_a_graphed_student_run_matches_an_eager_one(tiny_spec, tmp_path):
    tiny_spec["recipe"].update(precision="fp32")
    train(tiny_spec, tmp_path / "teacher", device="cuda", log=lambda _: None)
    runs = {}
    for graphs in (False, True):
        student = copy.deepcopy(tiny_spec)
        student.update(member="gen1", train_seed=1, objective={"name": "ban", "args": {}})
        student["recipe"]["cuda_graphs"] = graphs
        runs[graphs] = train(student, tmp_path / f"graphs_{graphs}", teacher_path=tmp_path / "teacher/model.pt", device="cuda",
                             log=lambda _: None)
    assert runs[True]["test_nll"] == pytest.approx(runs[False]["test_nll"], rel=1e-3)
    assert abs(runs[True]["test_error"] - runs[False]["test_error"]) <= 1.0


def test_the_teacher_runs_in_fp32_outside_bf16_autocast():
    """Under bf16 autocast the student's logits are bf16, the teacher's targets the fp32 forward."""
    torch.manual_seed(0)
    teacher, model = torch.nn.Linear(6, 4), torch.nn.Linear(6, 4)
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    seen = {}

    def objective(logits, teacher_logits, targets, **_):
        seen["student"], seen["teacher"] = logits.dtype, teacher_logits
        return get_objective("ban")(logits, teacher_logits, targets)

    opt = SGD(model.parameters(), lr=0.1)
    make_step(model, teacher, objective, {}, opt, torch.device("cpu"), "bf16", None)(x, y)
    assert seen["student"] == torch.bfloat16
    with torch.no_grad():
        assert seen["teacher"].dtype == torch.float32 and torch.equal(seen["teacher"], teacher(x))
