"""The Python side of the TorchScript round trip (run with Debian's python3-torch).

  torchscript_models.py write DATA_DIR OUT.pt   trains a small CNN on the IDX files in DATA_DIR
                                                for a few epochs, saves it with torch.jit.save,
                                                and writes OUT.pt.json (input spec, class names)
  torchscript_models.py check FILE.pt DIR        loads FILE.pt with torch.jit.load and checks its
                                                logits on DIR/x.bin against DIR/logits.bin (the
                                                C++ side's) to 1e-5; prints the largest difference
"""
import json
import os
import sys

import numpy as np
import torch


class SmallNet(torch.nn.Module):
    """A features/classifier network with embed and head, as unlearn's methods expect."""

    def __init__(self, classes):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1, bias=False),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.AdaptiveAvgPool2d(2),
            torch.nn.Flatten(),
        )
        self.classifier = torch.nn.Linear(32, classes)

    @torch.jit.export
    def embed(self, x):
        return self.features(x)

    @torch.jit.export
    def head(self, f):
        return self.classifier(f)

    def forward(self, x):
        return self.head(self.embed(x))


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write(data_dir, out):
    torch.manual_seed(0)
    x = torch.from_numpy(read_idx(os.path.join(data_dir, "train-images-idx3-ubyte")).copy())
    y = torch.from_numpy(read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte")).copy())
    x = (x.float().unsqueeze(1) / 255 - 0.5) / 0.5
    y = y.long()
    with open(os.path.join(data_dir, "classes.txt")) as f:
        classes = [line.rstrip("\n") for line in f if line.strip()]
    net = SmallNet(len(classes))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(5):
        for idx in torch.randperm(len(y)).split(16):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    torch.jit.save(torch.jit.script(net), out)
    spec = {"input": {"channels": 1, "size": int(x.shape[-1]), "mean": [0.5], "std": [0.5]},
            "class_names": classes}
    with open(out + ".json", "w") as f:
        json.dump(spec, f)


def check(model_path, folder):
    extra = {"unlearn.json": ""}
    model = torch.jit.load(model_path, _extra_files=extra).eval()
    spec = json.loads(extra["unlearn.json"])
    channels, size = spec["input"]["channels"], spec["input"]["size"]
    x = torch.from_numpy(np.fromfile(os.path.join(folder, "x.bin"), dtype=np.float32))
    x = x.reshape(-1, channels, size, size)
    expected = torch.from_numpy(np.fromfile(os.path.join(folder, "logits.bin"), dtype=np.float32))
    expected = expected.reshape(x.shape[0], -1)
    mean = torch.tensor(spec["input"]["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(spec["input"]["std"]).view(1, -1, 1, 1)
    with torch.no_grad():
        logits = model((x - mean) / std)
    diff = (logits - expected).abs().max().item()
    print(f"max |python - c++| = {diff:.3g} over {tuple(logits.shape)} logits")
    if logits.shape != expected.shape or not diff <= 1e-5:
        sys.exit(f"logits differ: {diff}")
    if len(spec["class_names"]) != logits.shape[1]:
        sys.exit("unlearn.json names a different number of classes than the logits have")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
