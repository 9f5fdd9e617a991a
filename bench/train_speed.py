"""Training throughput, measured in one run on one device; prints one table.

(a) bare training step of the student (no teacher): a hand-written eager loop on device-resident
    data, full batches, bf16 + channels_last on CUDA;
(a') our trainer without a teacher: the label-trained teacher of (b) (``ban.lifecycle.run_member``, CE);
(b) our BAN student (``ban.lifecycle.run_member``: teacher forward on the same augmented batch,
    device-resident data, batched augmentation, bf16 + channels_last and CUDA-graph replay of
    full-batch steps on CUDA), and (b)/(a), (b)/(a');
(c) a plain reference loop as most public BAN code is written: ``DataLoader`` over the dataset with
    per-sample torchvision transforms (crop + flip), fp32 student and teacher; ours/(c).

(b) and (c) train a student of the same teacher for ``--epochs`` epochs with the same recipe
(cosine learning rate, Nesterov SGD, weight decay 5e-4 on every parameter, as the trainer's default recipe
does) and report its test error, so speed is
compared at equal epochs and accuracy. Rates are images/s of the training part of each epoch
(evaluation excluded), averaged over the epochs after the first (the first pays for cuDNN's
kernel choice and worker start-up) when there are two or more.

    python bench/train_speed.py                       # CPU: cnn on 6,400 Fashion-MNIST images
    python bench/train_speed.py --model wrn-16-4 --images 60000 --batch 512 --epochs 3 --workers 8   # a GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ban.augment import random_crop_flip
from ban.datasets import load_dataset
from ban.datasets.fashion_mnist import FASHION_MNIST_STATS
from ban.lifecycle import run_member
from ban.metrics import classification_scores
from ban.models import build_model
from ban.runtime import autocast, resolve_device
from ban.seeds import stream_seed
from ban.tasks.image import Recipe, predict

LR, WEIGHT_DECAY = 0.05, 5e-4


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def steady_rate(images: int, epoch_seconds: list[float]) -> float:
    """images/s over the epochs after the first (all epochs when there is only one)."""
    timed = epoch_seconds[1:] or epoch_seconds
    return images * len(timed) / sum(timed)


def bare_step(model_name, args, data, device, batch, images, precision):
    """(a) images/s of SGD steps on resident, augmented full batches (no teacher), after a warm pass."""
    model = build_model(model_name, data.in_channels, data.num_classes, **args).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, fused=device.type == "cuda" or None)
    images = max(batch, images // batch * batch)
    x_all, y_all = data.train_x[:images].to(device), data.train_y[:images].to(device)
    g = torch.Generator(device=device).manual_seed(0)
    for warm in (True, False):
        sync(device)
        start = time.perf_counter()
        for i in range(0, 2 * batch if warm else images, batch):
            x = random_crop_flip(x_all[i : i + batch], generator=g).contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                loss = F.cross_entropy(model(x).float(), y_all[i : i + batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
    return images / (time.perf_counter() - start)


def ours(model_name, args, dataset, device, batch, epochs, precision, workdir, seed=0):
    """(a') and (b): the trainer's label-trained teacher, then its BAN student:
    (teacher's and student's per-epoch training seconds, student's test error %, teacher path)."""
    recipe = {"epochs": epochs, "batch_size": batch, "lr": LR, "weight_decay": WEIGHT_DECAY, "schedule": "cosine", "precision": precision}
    spec = {
        "dataset": dataset, "model": {"name": model_name, "args": args}, "objective": {"name": "ce", "args": {}},
        "recipe": recipe, "train_seed": 2 * seed, "member": "gen0",
    }
    teacher = run_member(spec, workdir / "gen0", device=str(device), log=lambda _: None)
    student = {**spec, "member": "gen1", "train_seed": 2 * seed + 1, "objective": {"name": "ban", "args": {}}}
    metrics = run_member(student, workdir / "gen1", teacher_path=workdir / "gen0/model.pt", device=str(device), log=lambda _: None)
    seconds = [[row["train_seconds"] for row in run["history"]] for run in (teacher, metrics)]
    return *seconds, metrics["test_error"], workdir / "gen0/model.pt"


def reference(model_name, args, data, data_root, device, batch, images, epochs, teacher_path, workers, seed=0):
    """(c) a DataLoader loop with per-sample transforms, fp32 teacher and student, the same recipe:
    (per-epoch training seconds, test error % on ``data``'s test split)."""
    import torchvision
    from torchvision import transforms

    from ban import checkpoint as ckpt_io

    train_tf = transforms.Compose([
        transforms.RandomCrop(28, padding=4, padding_mode="reflect"), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize(*FASHION_MNIST_STATS),
    ])
    dataset = torchvision.datasets.FashionMNIST(data_root, train=True, transform=train_tf, download=False)
    subset = torch.utils.data.Subset(dataset, range(images))
    loader = torch.utils.data.DataLoader(subset, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=device.type == "cuda")
    teacher = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(teacher_path)).to(device).eval()
    torch.manual_seed(stream_seed(2 * seed + 1, "init"))  # the initialisation of (b)'s student
    student = build_model(model_name, 1, 10, **args).to(device)
    opt = torch.optim.SGD(student.parameters(), lr=LR, momentum=0.9, nesterov=True, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, Recipe(epochs=epochs, schedule="cosine").lr_factor)
    seconds = []
    for _ in range(epochs):
        student.train()
        sync(device)
        start = time.perf_counter()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                t = teacher(x)
            z = student(x)
            loss = -(F.softmax(t, dim=1) * F.log_softmax(z, dim=1)).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sync(device)
        seconds.append(time.perf_counter() - start)
        schedule.step()
    probs = predict(student, data.test_x.to(device), 1024, device, "fp32", False)
    return seconds, classification_scores(probs, data.test_y.numpy())["test_error"]


def add_student_arguments(parser: argparse.ArgumentParser, images: int, epochs_help: str) -> None:
    """The options every speed benchmark shares: model, cnn width, images, batch, epochs, device, data root."""
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--width", type=int, default=16, help="cnn width (ignored for other models)")
    parser.add_argument("--images", type=int, default=images)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2, help=epochs_help)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", default="data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_student_arguments(parser, images=6400, epochs_help="epochs of the (b) and (c) students (and of (b)'s teacher)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the reference loop")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="seeds: teacher 2*seed, both students 2*seed+1")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    device = resolve_device(opts.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as ban.tasks.image does
    args = {"width": opts.width} if opts.model == "cnn" else {}
    data = load_dataset("fashion_mnist", root=opts.data_root)
    images = min(opts.images, len(data.train_y))
    data_spec = {"name": "fashion_mnist", "root": opts.data_root, "train_subset": images}
    a = bare_step(opts.model, args, data, device, opts.batch, images, opts.precision)
    with tempfile.TemporaryDirectory() as tmp:
        teacher_seconds, ours_seconds, ours_error, teacher_path = ours(
            opts.model, args, data_spec, device, opts.batch, opts.epochs, opts.precision, Path(tmp), opts.seed)
        ref_seconds, ref_error = reference(
            opts.model, args, data, opts.data_root, device, opts.batch, images, opts.epochs, teacher_path, opts.workers, opts.seed)
    a_ours, b, c = (steady_rate(images, seconds) for seconds in (teacher_seconds, ours_seconds, ref_seconds))
    precision = opts.precision if opts.precision != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {opts.threads} thread(s)"
    print(f"{name}: {opts.model}, {images:,} images, batch {opts.batch}, {opts.epochs} epoch(s), seed {opts.seed}, ours in {precision}")
    print("| measurement | images/s | ratio | student test error after the epochs |")
    print("|---|---|---|---|")
    print(f"| (a) bare training step (no teacher) | {a:,.0f} | | |")
    print(f"| (a') ours without a teacher (the CE-trained teacher) | {a_ours:,.0f} | | |")
    ratios = f"(b)/(a) time = {a / b:.2f}x, (b)/(a') = {a_ours / b:.2f}x"
    print(f"| (b) ours: BAN student (teacher forward included) | {b:,.0f} | {ratios} | {ours_error:.2f}% |")
    print(f"| (c) reference DataLoader loop, {opts.workers} workers, fp32 | {c:,.0f} | ours/(c) = {b / c:.2f}x | {ref_error:.2f}% |")


if __name__ == "__main__":
    main()
