#!/usr/bin/python3
"""Plain-PyTorch peer of unlearn's PSG loop, for the speed comparison of issue 6.

It runs the same unlearning maths as `unlearn forget --method psg --preset authors`
(plus an optional retain weight phi) on Fashion-MNIST, forgetting class 0, starting from one
of our model files, and reports how long the loop took and how well the result forgets.
Two forms are timed:

  user   the loop as a typical PyTorch user (and the method's authors) would write it:
         torchvision per-sample transforms on PIL images, DataLoaders, a retain batch drawn
         and computed every step even when phi = 0.
  tuned  the same maths written for speed: data decoded and resized once into one tensor,
         index sampling, channels_last, inference_mode for the reference logits, no retain
         batch when phi = 0, optionally bfloat16 autocast.

bench/e2e.sh runs it under /usr/bin/time once per form and phi (`--form F --model ORIG.pt
--phi P --threads N [--max-steps N] --json OUT.json`), right after our own binary on the same
original model and threads, and tabulates loop_seconds, steps_per_second, fta and rta from the
JSON object next to the wall time and peak RSS that /usr/bin/time measured. `--sgemm` is a
standalone check: one float32 matrix product, to see how fast this torch build's BLAS is here.
--max-steps and --test-limit exist for smoke tests only.

Run it with Debian's interpreter (/usr/bin/python3 has torch and torchvision); CPU only.
"""

import time

# Taken before the heavy imports: total_seconds counts importing torch, as a user would pay it.
_T0 = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import copy  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
FORGET_CLASS = 0
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


class PeerError(Exception):
    """A problem with the inputs (missing file, unsupported model): message, exit status 1."""


# --------------------------------------------------------------------------------------------
# Command line


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Plain-PyTorch peer of unlearn's PSG loop (speed comparison, issue 6).")
    p.add_argument("--form", choices=["user", "tuned"], help="how the loop is written")
    p.add_argument("--model", help="original model file written by unlearn (TorchScript .pt)")
    p.add_argument("--phi", type=non_negative_float, default=0.0, help="retain weight (0)")
    p.add_argument("--threads", type=positive_int, default=len(os.sched_getaffinity(0)),
                   help="intra-op threads (default: all cores this process may use)")
    p.add_argument("--seed", type=int, default=0, help="seed of batch order and noise (0)")
    p.add_argument("--passes", type=positive_int, default=10, help="passes over the forget set")
    p.add_argument("--max-steps", type=non_negative_int, default=0,
                   help="stop after this many outer steps; 0 runs all passes (smoke tests)")
    p.add_argument("--test-limit", type=non_negative_int, default=0,
                   help="evaluate on the first N test rows only; 0 uses all (smoke tests)")
    p.add_argument("--epsilon", type=positive_float, default=0.1,
                   help="L-inf search radius in raw pixel units (0.1); the step is epsilon (K=1)")
    p.add_argument("--gamma", type=non_negative_float, default=1e-4,
                   help="scale of the normal search noise (1e-4)")
    p.add_argument("--lr", type=positive_float, default=1e-5, help="SGD learning rate (1e-5)")
    p.add_argument("--momentum", type=non_negative_float, default=0.9, help="SGD momentum (0.9)")
    p.add_argument("--batch", type=positive_int, default=64, help="forget and retain batch (64)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: bfloat16 autocast around the forwards (tuned form only)")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help=f"folder of the Fashion-MNIST .gz files ({DEFAULT_DATA_DIR})")
    p.add_argument("--json", metavar="OUT.json", help="also write the result object here")
    p.add_argument("--sgemm", action="store_true",
                   help="only time a float32 matrix product and print GFLOP/s")
    p.add_argument("--sgemm-n", type=positive_int, default=2048, help="matrix size for --sgemm")
    args = p.parse_args(argv)
    if not args.sgemm:
        if args.form is None:
            p.error("--form is required (unless --sgemm)")
        if args.model is None:
            p.error("--model is required (unless --sgemm)")
        if args.momentum >= 1:
            p.error(f"--momentum: expected in [0, 1), got {args.momentum}")
        if args.precision == "bf16" and args.form != "tuned":
            p.error("--precision bf16 is for --form tuned only")
    return args


# --------------------------------------------------------------------------------------------
# Model: a port of src/models/allcnn.cpp whose parameter names match ours, so that the state
# dict of our TorchScript file loads strictly.


class AllCnn(nn.Module):
    """AllCNN taking raw pixels in [0, 1]; it normalises with the spec's mean and std inside,
    as our Model::logits does, so that the search works in raw pixel units."""

    def __init__(self, in_channels, a, b, num_classes, mean, std, channels_last=False):
        super().__init__()
        # (in, out, kernel, stride) of the eight conv + BN + ReLU blocks, in our order.
        blocks = [(in_channels, a, 3, 1), (a, a, 3, 1), (a, a, 3, 2), (a, b, 3, 1),
                  (b, b, 3, 1), (b, b, 3, 2), (b, b, 3, 1), (b, b, 1, 1)]
        layers = []
        for cin, cout, k, s in blocks:
            layers += [nn.Conv2d(cin, cout, k, stride=s, padding=k // 2, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(b, num_classes)
        # Not persistent: they come from the spec, not from the state dict.
        shape = (1, in_channels, 1, 1)
        self.register_buffer("mean", torch.tensor(mean[:in_channels]).view(shape),
                             persistent=False)
        self.register_buffer("inv_std", 1.0 / torch.tensor(std[:in_channels]).view(shape),
                             persistent=False)
        self.channels_last = channels_last

    def forward(self, x):
        x = (x - self.mean) * self.inv_std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.classifier(self.features(x))


def load_original(path, channels_last):
    """Our model file -> (AllCnn with its weights, spec dict)."""
    if not os.path.isfile(path):
        raise PeerError(f"model file not found: {path}")
    try:
        archive = torch.jit.load(path, map_location="cpu")
        spec = json.loads(archive.spec)
        state = archive.state.state_dict()
    except Exception as e:  # a foreign or damaged file: say which
        raise PeerError(f"{path}: not an unlearn model file ({e})") from e
    if spec.get("arch") != "allcnn":
        raise PeerError(f"{path}: arch '{spec.get('arch')}' is not supported; "
                        "this peer ports allcnn only")
    first, last = state["features.0.weight"], state["features.21.weight"]
    model = AllCnn(in_channels=first.shape[1], a=first.shape[0], b=last.shape[0],
                   num_classes=state["classifier.weight"].shape[0],
                   mean=spec["input"]["mean"], std=spec["input"]["std"],
                   channels_last=channels_last)
    model.load_state_dict(state, strict=True)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, spec


def frozen_copy(model):
    """The boundary reference: the original, in eval mode, needing no weight gradients."""
    orig = copy.deepcopy(model)
    orig.eval()
    for p in orig.parameters():
        p.requires_grad_(False)
    return orig


# --------------------------------------------------------------------------------------------
# Data


def data_file(data_dir, key):
    path = os.path.join(data_dir, IDX_FILES[key])
    if not os.path.isfile(path):
        raise PeerError(f"data file not found: {path}")
    return path


def read_idx(path):
    """An IDX file (gzip) -> numpy uint8 array of its dimensions."""
    with gzip.open(path, "rb") as f:
        raw = bytearray(f.read())  # writable, so torch.from_numpy may wrap it
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def resize_01(images_u8, size, chunk=8192):
    """N×H×W uint8 -> N×1×size×size float in [0, 1], resized like our resize_square (bilinear,
    align_corners=False on the uint8 values, rounded back to the uint8 grid); in chunks so the
    float copy of the input never exists whole."""
    n, h, w = images_u8.shape
    out = torch.empty((n, 1, size, size), dtype=torch.float32)
    src = torch.from_numpy(images_u8)
    for start in range(0, n, chunk):
        part = src[start:start + chunk].unsqueeze(1).float()
        if (h, w) != (size, size):
            mode = dict(mode="area") if h > size or w > size else \
                dict(mode="bilinear", align_corners=False)
            part = F.interpolate(part, size=(size, size), **mode).round().clamp(0, 255)
        out[start:start + chunk] = part / 255.0
    return out


# --------------------------------------------------------------------------------------------
# The maths shared by both forms


def project_linf(candidate, x, eps):
    """Into the eps ball around x, into [0, 1], onto the 1/255 grid (our project())."""
    delta = (candidate - x).clamp(-eps, eps)
    return torch.round((x + delta).clamp(0.0, 1.0) * 255.0) / 255.0


def evaluate_split(preds, labels):
    """(FTA, RTA) in percent from test predictions and labels."""
    forget = labels == FORGET_CLASS
    correct = preds == labels
    fta = 100.0 * correct[forget].float().mean().item()
    rta = 100.0 * correct[~forget].float().mean().item()
    return fta, rta


class Progress:
    """A line on stderr every 100 steps; reads tensors only then, to stay off the hot path."""

    def __init__(self, form, total):
        self.form, self.total = form, total
        self.flips = torch.zeros((), dtype=torch.int64)
        self.seen = 0
        self.start = time.perf_counter()

    def step(self, step, loss, targets, y):
        self.flips += (targets != y).sum()
        self.seen += y.numel()
        if step % 100 == 0 or step == self.total:
            print(f"[peer {self.form}] step {step}/{self.total} "
                  f"{time.perf_counter() - self.start:.1f}s loss {loss.item():.4f} "
                  f"flip rate {self.flip_rate():.3f}", file=sys.stderr, flush=True)

    def flip_rate(self):
        return self.flips.item() / max(self.seen, 1)


# --------------------------------------------------------------------------------------------
# Form "user": as the method's authors (and most users) would write it


def run_user(args, model, spec):
    import torchvision
    from torchvision import transforms

    size, channels = spec["input"]["size"], spec["input"]["channels"]
    steps = [transforms.Resize(size)]
    if channels == 3:
        steps.append(transforms.Grayscale(num_output_channels=3))
    transform = transforms.Compose(steps + [transforms.ToTensor()])

    with tempfile.TemporaryDirectory(prefix="peer-fmnist-") as root:
        # torchvision's class reads the decompressed files from ROOT/FashionMNIST/raw.
        raw = os.path.join(root, "FashionMNIST", "raw")
        os.makedirs(raw)
        for key, name in IDX_FILES.items():
            with gzip.open(data_file(args.data_dir, key), "rb") as src, \
                    open(os.path.join(raw, name[:-3]), "wb") as dst:
                dst.write(src.read())
        train = torchvision.datasets.FashionMNIST(root, train=True, transform=transform)
        test = torchvision.datasets.FashionMNIST(root, train=False, transform=transform)

    is_forget = train.targets == FORGET_CLASS
    forget_set = torch.utils.data.Subset(train, is_forget.nonzero().flatten().tolist())
    retain_set = torch.utils.data.Subset(train, (~is_forget).nonzero().flatten().tolist())
    forget_loader = torch.utils.data.DataLoader(forget_set, batch_size=args.batch, shuffle=True,
                                                num_workers=0)
    retain_loader = torch.utils.data.DataLoader(retain_set, batch_size=args.batch, shuffle=True,
                                                num_workers=0)

    def cycle(loader):  # unlike itertools.cycle, reshuffles and holds no batches
        while True:
            yield from loader

    retain_iter = cycle(retain_loader)
    orig = frozen_copy(model)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=0.0)
    eps, alpha = args.epsilon, args.epsilon  # K = 1: alpha = epsilon / K

    total = planned_steps(args, len(forget_set))
    progress = Progress("user", total)
    step = 0
    loop_start = time.perf_counter()
    for _ in range(args.passes):
        for x, y in forget_loader:
            # Boundary search on the frozen original.
            x_adv = x.clone().requires_grad_(True)
            criterion(orig(x_adv), y).backward()
            grad = x_adv.grad + args.gamma * torch.randn_like(x_adv.grad)
            x_star = project_linf(x + alpha * grad.sign(), x, eps)
            with torch.no_grad():
                targets = orig(x_star).argmax(1)

            # Outer step; the retain term is always computed and weighted, as the authors do.
            xr, yr = next(retain_iter)
            model.train()
            optimizer.zero_grad()
            loss = criterion(model(x), targets) + args.phi * criterion(model(xr), yr)
            loss.backward()
            optimizer.step()

            step += 1
            progress.step(step, loss, targets, y)
            if step == total:
                break
        if step == total:
            break
    loop_seconds = time.perf_counter() - loop_start

    model.eval()
    if args.test_limit:
        test = torch.utils.data.Subset(test, range(min(args.test_limit, len(test))))
    test_loader = torch.utils.data.DataLoader(test, batch_size=256, shuffle=False, num_workers=0)
    preds, labels = [], []
    with torch.no_grad():
        for x, y in test_loader:
            preds.append(model(x).argmax(1))
            labels.append(y)
    fta, rta = evaluate_split(torch.cat(preds), torch.cat(labels))
    return dict(steps=step, planned_steps=total, loop_seconds=loop_seconds, fta=fta, rta=rta,
                mean_flip_rate=progress.flip_rate())


# --------------------------------------------------------------------------------------------
# Form "tuned": the same maths written for speed


class IndexStream:
    """Batches of row indices in a seeded random order, reshuffled after each pass; the last
    batch of a pass may be short."""

    def __init__(self, rows, batch, seed):
        self.rows, self.batch = rows, batch
        self.generator = torch.Generator().manual_seed(seed)
        self.batches = iter(())

    def next(self):
        batch = next(self.batches, None)
        if batch is None:
            order = torch.randperm(self.rows.numel(), generator=self.generator)
            self.batches = iter(self.rows.index_select(0, order).split(self.batch))
            batch = next(self.batches)
        return batch


def load_tensors(args, size, channels):
    """All of Fashion-MNIST decoded and resized once: (train x, train y, test x, test y)."""
    def images(key):
        x = resize_01(read_idx(data_file(args.data_dir, key)), size)
        if channels == 3:
            x = x.expand(-1, 3, -1, -1)
        return x.contiguous(memory_format=torch.channels_last)

    def labels(key):
        return torch.from_numpy(read_idx(data_file(args.data_dir, key)).astype(np.int64))

    return (images("train_images"), labels("train_labels"),
            images("test_images"), labels("test_labels"))


def run_tuned(args, model, spec):
    size, channels = spec["input"]["size"], spec["input"]["channels"]
    train_x, train_y, test_x, test_y = load_tensors(args, size, channels)
    if args.test_limit:
        test_x, test_y = test_x[:args.test_limit], test_y[:args.test_limit]
    is_forget = train_y == FORGET_CLASS
    forget = IndexStream(is_forget.nonzero().flatten(), args.batch, args.seed)
    use_retain = args.phi > 0
    retain = IndexStream((~is_forget).nonzero().flatten(), args.batch, args.seed + 1) \
        if use_retain else None
    noise = torch.Generator().manual_seed(args.seed + 2)

    if args.precision == "bf16":
        def autocast():
            return torch.autocast("cpu", dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext

    orig = frozen_copy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=0.0)
    eps, alpha = args.epsilon, args.epsilon  # K = 1: alpha = epsilon / K

    total = planned_steps(args, int(is_forget.sum()))
    progress = Progress("tuned", total)
    model.train()  # nothing else changes the mode inside the loop
    # Wall time by phase, the same phases as unlearn's method.summary.loop_seconds_by_phase.
    phases = dict(batches=0.0, search=0.0, update=0.0, bookkeeping=0.0)
    last = time.perf_counter()

    def lap(phase):
        nonlocal last
        now = time.perf_counter()
        phases[phase] += now - last
        last = now

    loop_start = time.perf_counter()
    for step in range(1, total + 1):
        idx = forget.next()
        x, y = train_x.index_select(0, idx), train_y.index_select(0, idx)
        if use_retain:
            ridx = retain.next()
            xr, yr = train_x.index_select(0, ridx), train_y.index_select(0, ridx)
        lap("batches")

        # Boundary search on the frozen original: gradient with respect to the input only.
        x_adv = x.detach().requires_grad_(True)
        with autocast():
            logits = orig(x_adv)
        (grad,) = torch.autograd.grad(F.cross_entropy(logits.float(), y), x_adv)
        grad = grad + args.gamma * torch.randn(grad.shape, generator=noise)
        x_star = project_linf(x + alpha * grad.sign(), x, eps)
        with torch.inference_mode(), autocast():
            logits_star = orig(x_star)
        # argmax outside inference mode: the targets are saved by the loss's backward, which an
        # inference tensor may not be.
        targets = logits_star.argmax(1)
        lap("search")

        # Outer step; the retain batch exists only when it carries weight.
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            logits_f = model(x)
            logits_r = None
            if use_retain:
                logits_r = model(xr)
        loss = F.cross_entropy(logits_f.float(), targets)
        if use_retain:
            loss = loss + args.phi * F.cross_entropy(logits_r.float(), yr)
        loss.backward()
        optimizer.step()
        lap("update")
        progress.step(step, loss, targets, y)
        lap("bookkeeping")
    loop_seconds = time.perf_counter() - loop_start

    model.eval()
    preds = []
    with torch.inference_mode(), autocast():
        for x in test_x.split(1024):
            preds.append(model(x).argmax(1))
    fta, rta = evaluate_split(torch.cat(preds), test_y)
    return dict(steps=total, planned_steps=total, loop_seconds=loop_seconds, fta=fta, rta=rta,
                mean_flip_rate=progress.flip_rate(), loop_seconds_by_phase=phases)


# --------------------------------------------------------------------------------------------
# Driver


def planned_steps(args, forget_rows):
    total = args.passes * math.ceil(forget_rows / args.batch)
    return min(total, args.max_steps) if args.max_steps > 0 else total


def blas_info():
    """The BLAS/LAPACK/oneDNN entries of torch's build settings (the full line is huge)."""
    keys = ("BLAS_INFO=", "LAPACK_INFO=", "USE_MKLDNN=", "USE_OPENMP=")
    items = [item.strip() for line in torch.__config__.show().splitlines()
             for item in line.replace("- Build settings:", "").split(",")]
    return [item for item in items if item.startswith(keys)]


def run_sgemm(args):
    """Best of 10 timed n×n float32 products after warm-up: the BLAS speed this build gets."""
    n = args.sgemm_n
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        torch.mm(a, b)
    best = math.inf
    for _ in range(10):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return dict(mode="sgemm", n=n, threads=args.threads, best_seconds=best,
                gflops=2.0 * n ** 3 / best / 1e9, blas=blas_info(),
                torch_version=torch.__version__)


def run_unlearning(args):
    torch.manual_seed(args.seed)  # the user form's DataLoader shuffles and noise use it
    model, spec = load_original(args.model, channels_last=args.form == "tuned")
    run = run_user if args.form == "user" else run_tuned
    result = run(args, model, spec)
    steps, loop = result["steps"], result["loop_seconds"]
    out = dict(form=args.form, phi=args.phi, precision=args.precision, threads=args.threads,
               seed=args.seed, steps=steps, planned_steps=result["planned_steps"],
               loop_seconds=loop, total_seconds=None,
               steps_per_second=steps / loop if loop > 0 else None,
               peak_rss_mib=None, fta=result["fta"], rta=result["rta"],
               mean_flip_rate=result["mean_flip_rate"],
               loop_seconds_by_phase=result.get("loop_seconds_by_phase"),
               input_size=spec["input"]["size"],
               model=args.model, torch_version=torch.__version__)
    return out


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        out = run_sgemm(args) if args.sgemm else run_unlearning(args)
    except PeerError as e:
        print(f"peer_pytorch: error: {e}", file=sys.stderr)
        return 1
    if not args.sgemm:
        out["total_seconds"] = time.perf_counter() - _T0
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
