"""MinHash signatures of code, vectorised with numpy (the BigCode near-dedup setting by default).

Tokens are the lower-cased ``\\w+`` runs of the text: identifiers, keywords and numbers, with
punctuation and whitespace dropped. BigCode's near-dedup splits on ``[^A-Za-z_0-9]`` (the same
tokens for ASCII code) but keeps the empty strings between adjacent separators, so reformatting
``a+b`` to ``a + b`` changes its shingles; dropping them makes the shingles layout-blind, which is
what a near-duplicate detector for code wants. Shingles are the ``ngram``-token windows of a text
(a text with fewer tokens is one shingle of all of them; a text without tokens has none and is
never a near-duplicate).

Each shingle becomes one 64-bit hash: tokens are hashed once per vocabulary entry (blake2b, stable
across processes, unlike ``hash(str)``), and a window's hash mixes its token hashes with fixed
odd multipliers and the splitmix64 finaliser, all in numpy over the whole corpus at once. A
signature is the minimum over a text's shingles of ``num_perm`` universal hashes
``(a * x + b) mod (2**61 - 1)`` in wrapping uint64 arithmetic, as BigCode and datatrove compute
them; ``a`` and ``b`` come from ``numpy.random.RandomState(seed)``, whose stream numpy keeps
frozen across releases, so a seed gives the same signatures on every machine and version. The
``mod`` is the Mersenne-prime reduction (``(x & p) + (x >> 61)``, one conditional subtraction),
equal to ``%`` for every uint64 and ~4x faster on small, cache-resident chunks.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import count

import numpy as np

from repotune.errors import RepotuneError

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64(np.iinfo(np.uint64).max)
TOKEN_PATTERN = re.compile(r"\w+")
CHUNK_SHINGLES = 512
"""Shingles permuted per numpy pass: 512 x 256 uint64 (1 MiB) stays in cache; 32k was 4x slower."""

_SHIFT_61 = np.uint64(61)
_MIX_SEED = 0x5EED_D1CE


def tokenize(text: str) -> list[str]:
    """The lower-cased ``\\w+`` tokens of ``text`` (see the module docstring for why)."""
    return TOKEN_PATTERN.findall(text.lower())


def splitmix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the linear window mix over all 64 bits (in place)."""
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


@dataclass(frozen=True)
class Shingles:
    """The shingle hashes of many texts, concatenated.

    Text ``i`` owns ``hashes[offsets[i] : offsets[i + 1]]`` (in window order, repeats kept).
    """

    hashes: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def of(self, index: int) -> np.ndarray:
        return self.hashes[self.offsets[index] : self.offsets[index + 1]]

    def concat(self, other: Shingles) -> Shingles:
        """These texts followed by ``other``'s (to compare two collections in one LSH pass)."""
        offsets = np.concatenate((self.offsets, other.offsets[1:] + self.offsets[-1]))
        return Shingles(np.concatenate((self.hashes, other.hashes)), offsets)


class MinHasher:
    """Shingles and MinHash signatures for one ``(ngram, num_perm, seed)`` setting.

    Args:
        ngram: Tokens per shingle (BigCode: 5).
        num_perm: Hash functions, the signature's length (BigCode: 256).
        seed: Seed of the hash functions; signatures compare only under the same seed.
    """

    def __init__(self, ngram: int = 5, num_perm: int = 256, seed: int = 42) -> None:
        if ngram < 1:
            raise RepotuneError("dedup", f"`ngram` must be >= 1 (got {ngram})", "use e.g. 5")
        if num_perm < 2:
            raise RepotuneError("dedup", f"`num_perm` must be >= 2 (got {num_perm})", "use 256")
        self.ngram = ngram
        self.num_perm = num_perm
        self.seed = seed
        rng = np.random.RandomState(seed)
        self._a = rng.randint(1, MERSENNE_PRIME, size=num_perm, dtype=np.uint64)
        self._b = rng.randint(0, MERSENNE_PRIME, size=num_perm, dtype=np.uint64)
        # The window mix is part of the shingle definition, not of the permutations: it is fixed
        # so that shingle hashes (and exact Jaccard on them) do not depend on ``seed``.
        mix = np.random.RandomState(_MIX_SEED).randint(0, 1 << 62, size=ngram, dtype=np.uint64)
        self._window_mix = mix * np.uint64(2) + np.uint64(1)

    def shingles(self, texts: Sequence[str]) -> Shingles:
        """Hash every ``ngram``-token window of every text, in text order."""
        # A token's id is its first-seen rank: ``defaultdict(count().__next__)`` numbers new keys
        # in C, 1.7x faster than a comprehension calling ``setdefault(token, len(vocab))``.
        vocab: defaultdict[str, int] = defaultdict(count().__next__)
        token_ids: list[int] = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for index, text in enumerate(texts):
            before = len(token_ids)
            token_ids.extend(map(vocab.__getitem__, tokenize(text)))
            lengths[index] = len(token_ids) - before
        digests = b"".join(
            hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            for t in vocab
        )
        token_hashes = np.frombuffer(digests, dtype="<u8").astype(np.uint64)
        tokens = token_hashes[np.asarray(token_ids, dtype=np.int64)]
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])

        n = self.ngram
        windows = max(len(tokens) - n + 1, 0)
        mixed = np.zeros(windows, dtype=np.uint64)
        for k in range(n):
            mixed += tokens[k : k + windows] * self._window_mix[k]
        doc_of_token = np.repeat(np.arange(len(texts)), lengths)
        valid = doc_of_token[:windows] == doc_of_token[n - 1 : n - 1 + windows]
        positions = np.flatnonzero(valid)
        hashes = mixed[positions]

        short = np.flatnonzero((lengths > 0) & (lengths < n))
        if len(short):
            short_hashes = np.zeros(len(short), dtype=np.uint64)
            for slot, doc in enumerate(short):
                part = tokens[starts[doc] : starts[doc + 1]]
                short_hashes[slot] = (part * self._window_mix[: len(part)]).sum(dtype=np.uint64)
            order = np.argsort(np.concatenate((positions, starts[short])), kind="stable")
            hashes = np.concatenate((hashes, short_hashes))[order]
        counts = np.where(lengths >= n, lengths - n + 1, (lengths > 0).astype(np.int64))
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return Shingles(splitmix64(hashes), offsets)

    def signatures(self, shingles: Shingles) -> np.ndarray:
        """``(texts, num_perm)`` uint64 MinHash signatures; a text without shingles gets all-max.

        The permutations run over fixed-size chunks of the concatenated shingles, laid out
        ``(num_perm, chunk)`` so that each text's minimum is a ``minimum.reduceat`` along
        contiguous memory (5x faster than along the other axis); the per-text minima are folded
        into the rows of the texts the chunk touches, so a text split across two chunks gets the
        minimum of both.
        """
        counts = shingles.counts
        sig = np.full((len(shingles), self.num_perm), MAX_HASH, dtype=np.uint64)
        doc_of_shingle = np.repeat(np.arange(len(shingles)), counts)
        values = shingles.hashes
        a, b = self._a[:, None], self._b[:, None]
        buf = np.empty((self.num_perm, CHUNK_SHINGLES), dtype=np.uint64)
        high = np.empty_like(buf)
        for start in range(0, len(values), CHUNK_SHINGLES):
            chunk = values[start : start + CHUNK_SHINGLES]
            rows = len(chunk)
            out, hi = buf[:, :rows], high[:, :rows]
            np.multiply(a, chunk, out=out)
            out += b
            np.right_shift(out, _SHIFT_61, out=hi)
            out &= MERSENNE_PRIME
            out += hi
            np.subtract(out, MERSENNE_PRIME, out=hi)
            np.minimum(out, hi, out=out)
            docs = doc_of_shingle[start : start + rows]
            seg = np.concatenate(([0], np.flatnonzero(docs[1:] != docs[:-1]) + 1))
            partial = np.minimum.reduceat(out, seg, axis=1).T
            owners = docs[seg]
            sig[owners] = np.minimum(sig[owners], partial)
        return sig


def jaccard(left: AbstractSet[int], right: AbstractSet[int]) -> float:
    """Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    union = len(left | right)
    return len(left & right) / union if union else 1.0
