"""Device resolution: ``auto`` picks cuda, then mps, then cpu; unavailable devices are clear errors."""

import pytest
import torch

from v2a.errors import V2AError
from v2a.presets import resolve_device


def no_mps(monkeypatch):
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    no_mps(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
        assert resolve_device("auto") == "mps"


def test_named_devices_pass_through_when_available(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cuda:1") == "cuda:1"


@pytest.mark.parametrize("device, fragment", [("gpu0", "unknown device"), ("cuda", "no CUDA GPU"),
                                              ("cuda:0", "no CUDA GPU"), ("mps", "MPS is not available"),
                                              ("meta", "unsupported device")])
def test_unusable_devices_are_one_line_errors(monkeypatch, device, fragment):
    no_mps(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(V2AError, match=fragment):
        resolve_device(device)
