"""This machine's CPU as the cost files name theirs: the model name the kernel reports, the
cores this process may use, and its bf16 instructions (which set how fast training runs).
Torch-free, so the plan reads it at parse time."""

from __future__ import annotations

import os

CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo's names of AMX-BF16 and AVX512-BF16


def cpuinfo() -> str:
    """The text of /proc/cpuinfo; empty elsewhere than Linux."""
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


def _field(text: str, name: str) -> str:
    return next((line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.split(":", 1)[0].strip() == name), "")


def cpu_flags(text: str | None = None) -> set[str]:
    """The first processor's flags."""
    return set(_field(cpuinfo() if text is None else text, "flags").split())


def has_bf16(text: str | None = None) -> bool:
    """Whether the CPU computes bf16 (AMX-BF16 or AVX512-BF16)."""
    return bool(set(CPU_BF16_FLAGS) & cpu_flags(text))


def bf16_instructions(text: str | None = None) -> str:
    """Which bf16 instructions the CPU has, as the cost files say it."""
    flags = cpu_flags(text)
    if "amx_bf16" in flags:
        return ", ".join(flag for flag in CPU_BF16_FLAGS if flag in flags)
    return "avx512_bf16 (no AMX)" if "avx512_bf16" in flags else "no bf16"


def describe_cpu(text: str | None = None, cores: int | None = None) -> str:
    """e.g. "Intel(R) Xeon(R) Processor, 2 cores, amx_bf16, avx512_bf16"."""
    text = cpuinfo() if text is None else text
    cores = len(os.sched_getaffinity(0)) if cores is None else cores
    return f"{_field(text, 'model name') or 'unknown CPU'}, {cores} cores, {bf16_instructions(text)}"


def bf16_of(description: str) -> str:
    """What a describe_cpu description says of the bf16 instructions (after the cores)."""
    return description.split(" cores, ", 1)[-1]
