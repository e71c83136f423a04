"""Named random streams: one independent generator per purpose, keyed by name, never by position.

A replication's streams derive from ``SeedSequence(seed, spawn_key=(replication, key(name)))``
where ``key`` is a stable hash of the stream's name. Two scenarios run with the same seed
therefore share random numbers wherever their structure agrees (common random numbers), and
adding a node or a stream does not re-seed the others. Nothing here touches global state.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

BLOCK = 256


def stream_key(name: str) -> int:
    """A stable 63-bit integer for a stream name (independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def generator(seed: int, replication: int, name: str) -> np.random.Generator:
    """The numpy generator of stream ``name`` in ``replication`` under ``seed``."""
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(replication, stream_key(name)))
    return np.random.Generator(np.random.PCG64(seq))


class Stream:
    """Uniform and standard-exponential draws from one generator, buffered for speed."""

    __slots__ = ("_exp", "_rng", "_uni")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._uni: list[float] = []
        self._exp: list[float] = []

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        if not self._uni:
            self._uni = self._rng.random(BLOCK).tolist()
            self._uni.reverse()
        return self._uni.pop()

    def exponential(self) -> float:
        """A draw from the exponential distribution with mean 1."""
        if not self._exp:
            self._exp = self._rng.standard_exponential(BLOCK).tolist()
            self._exp.reverse()
        return self._exp.pop()

    def pick(self, cumulative: Sequence[float]) -> int:
        """Index drawn with the probabilities whose running sums are ``cumulative``."""
        uni = self._uni
        u = (uni.pop() if uni else self.uniform()) * cumulative[-1]
        index = bisect_right(cumulative, u)
        last = len(cumulative) - 1
        return index if index < last else last


class Streams:
    """The named streams of one replication; each is created on first use."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._streams: dict[str, Stream] = {}

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for ``name`` (for samplers that draw their own blocks)."""
        return generator(self.seed, self.replication, name)

    def __getitem__(self, name: str) -> Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(self.generator(name))
        return stream
