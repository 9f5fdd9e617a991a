"""Training throughput, measured in one run on one device; prints one table.

(a) bare training step of the student (no teacher), data resident on the device;
(b) our BAN student epoch (``ban.train.train``: teacher forward on the same augmented batch,
    device-resident data, batched augmentation, bf16 + channels_last on CUDA), and (b)/(a);
(c) a plain reference loop as most public BAN code is written: ``DataLoader`` over the dataset with
    per-sample torchvision transforms (crop + flip), fp32 student and teacher; ours/(c).

    python bench/train_speed.py                       # CPU: cnn on 6,400 Fashion-MNIST images
    python bench/train_speed.py --model wrn-16-4 --images 60000 --batch 512   # a GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ban.augment import random_crop_flip
from ban.data import load_dataset
from ban.models import build_model
from ban.train import autocast, resolve_device, train


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_step(model_name, args, data, device, batch, images, precision):
    """(a) images/s of SGD steps on resident, augmented batches (no teacher)."""
    model = build_model(model_name, data.in_channels, data.num_classes, **args).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x_all, y_all = data.train_x[:images].to(device), data.train_y[:images].to(device)
    g = torch.Generator(device=device).manual_seed(0)
    for warm in (True, False):
        sync(device)
        start = time.perf_counter()
        for i in range(0, images if not warm else 2 * batch, batch):
            x = random_crop_flip(x_all[i : i + batch], generator=g).contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                loss = F.cross_entropy(model(x).float(), y_all[i : i + batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
    return images / (time.perf_counter() - start)


def ours(model_name, args, dataset, device, batch, images, precision, workdir):
    """(b) images/s of the trainer's BAN student epoch (train part only; eval excluded)."""
    spec = {
        "dataset": dataset, "model": {"name": model_name, "args": args}, "objective": {"name": "ce", "args": {}},
        "recipe": {"epochs": 1, "batch_size": batch, "lr": 0.01, "schedule": "constant", "precision": precision},
        "train_seed": 0, "member": "gen0",
    }
    train(spec, workdir / "gen0", device=str(device), log=lambda _: None)
    student = {**spec, "member": "gen1", "train_seed": 1, "objective": {"name": "ban", "args": {}}}
    metrics = train(student, workdir / "gen1", teacher_path=workdir / "gen0/model.pt", device=str(device), log=lambda _: None)
    return metrics["history"][0]["train_seconds"], workdir / "gen0/model.pt"


def reference(model_name, args, data_root, device, batch, images, teacher_path, workers):
    """(c) images/s of a DataLoader loop with per-sample transforms, fp32 teacher and student."""
    import torchvision
    from torchvision import transforms

    from ban import checkpoint as ckpt_io

    tf = transforms.Compose([
        transforms.RandomCrop(28, padding=4, padding_mode="reflect"), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,)),
    ])
    dataset = torchvision.datasets.FashionMNIST(data_root, train=True, transform=tf, download=False)
    subset = torch.utils.data.Subset(dataset, range(images))
    loader = torch.utils.data.DataLoader(subset, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=device.type == "cuda")
    teacher = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(teacher_path)).to(device).eval()
    student = build_model(model_name, 1, 10, **args).to(device)
    opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9, nesterov=True)
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
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--width", type=int, default=16, help="cnn width (ignored for other models)")
    parser.add_argument("--images", type=int, default=6400)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the reference loop")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-root", default="data")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    device = resolve_device(opts.device)
    args = {"width": opts.width} if opts.model == "cnn" else {}
    data = load_dataset("fashion_mnist", root=opts.data_root)
    data_spec = {"name": "fashion_mnist", "root": opts.data_root, "train_subset": opts.images}
    a = bare_step(opts.model, args, data, device, opts.batch, opts.images, opts.precision)
    with tempfile.TemporaryDirectory() as tmp:
        seconds, teacher_path = ours(opts.model, args, data_spec, device, opts.batch, opts.images, opts.precision, Path(tmp))
        b = min(opts.images, len(data.train_y)) / seconds
        c = reference(opts.model, args, opts.data_root, device, opts.batch, opts.images, teacher_path, opts.workers)
    print(f"device {device}, model {opts.model}, batch {opts.batch}, threads {opts.threads}, precision {opts.precision}")
    print(f"| measurement | images/s | ratio |")
    print(f"|---|---|---|")
    print(f"| (a) bare training step (no teacher) | {a:,.0f} | |")
    print(f"| (b) ours: BAN student epoch (teacher forward included) | {b:,.0f} | (a)/(b) time = {a / b:.2f}x |")
    print(f"| (c) reference DataLoader loop, {opts.workers} workers, fp32 | {c:,.0f} | ours/(c) = {b / c:.2f}x |")


if __name__ == "__main__":
    main()
