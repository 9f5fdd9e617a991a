from collections import defaultdict
from pathlib import Path

import pytest
import torch

from ban.datasets import DATASETS, DatasetError, load_dataset
from ban.datasets.text import (
    CHAR_BOW,
    CHAR_EOW,
    CHAR_PAD,
    EOS,
    FIRST_CHAR_ID,
    UNK,
    TextData,
    batchify,
    bptt_windows,
    num_windows,
    tokenize_english,
)

TRAIN = " the cat sat on the mat \n the dog sat <unk> \n"
VALID = " the cat ran \n"
TEST = " a dog sat \n"


def write_ptb(folder: Path, train: str = TRAIN, valid: str = VALID, test: str = TEST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"ptb.{split}.txt").write_text(text)
    return folder


def words(data: TextData, ids: torch.Tensor) -> list[str]:
    return [data.vocab[i] for i in ids.tolist()]


def test_text_datasets_are_registered():
    assert {"ptb", "wordnet", "synthetic_text"} <= set(DATASETS.names())


def test_ptb_reads_root_folder_with_eos_and_train_vocab(tmp_path):
    write_ptb(tmp_path / "ptb")
    data = load_dataset("ptb", root=tmp_path)
    assert data.task == "text" and data.name == "ptb"
    assert data.vocab == ["the", "cat", "sat", "on", "mat", EOS, "dog", UNK]
    assert words(data, data.train) == "the cat sat on the mat <eos> the dog sat <unk> <eos>".split()
    assert words(data, data.val) == "the cat <unk> <eos>".split()  # "ran" is not in the training vocabulary
    assert words(data, data.test) == "<unk> dog sat <eos>".split()
    assert data.train.dtype == torch.int64 and (data.vocab_size, data.num_classes, data.in_channels) == (8, 8, 0)


def test_ptb_configured_folder_comes_first(tmp_path):
    folder = write_ptb(tmp_path / "elsewhere", train=" x y \n", valid=" y \n", test=" x \n")
    data = load_dataset("ptb", root=tmp_path / "empty", folder=str(folder))
    assert data.vocab == ["x", "y", EOS]


def test_ptb_missing_files_name_the_folder(tmp_path):
    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb" / "ptb.train.txt").write_text(TRAIN)
    with pytest.raises(DatasetError, match=r"ptb\.valid\.txt, ptb\.test\.txt") as error:
        load_dataset("ptb", root=tmp_path)
    assert str(tmp_path / "ptb") in str(error.value) and "\n" not in str(error.value)


def test_ptb_download_fetches_missing_files_into_the_folder(tmp_path, monkeypatch):
    import ban.datasets.text

    source = write_ptb(tmp_path / "mirror")
    monkeypatch.setattr(ban.datasets.text, "PTB_URL", source.as_uri() + "/ptb.{split}.txt")
    data = load_dataset("ptb", root=tmp_path / "root", download=True)
    assert sorted(p.name for p in (tmp_path / "root" / "ptb").iterdir()) == ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]
    assert data.vocab_size == 8
    monkeypatch.setattr(ban.datasets.text, "PTB_URL", (tmp_path / "nowhere").as_uri() + "/ptb.{split}.txt")
    with pytest.raises(DatasetError, match="cannot download"):
        load_dataset("ptb", root=tmp_path / "other", download=True)


def test_unknown_word_without_unk_is_an_error(tmp_path):
    write_ptb(tmp_path / "ptb", train=" a b \n", valid=" a c \n", test=" b \n")
    with pytest.raises(DatasetError, match="'c' is not in the training vocabulary"):
        load_dataset("ptb", root=tmp_path)


def test_word_chars_spell_each_word_between_bow_and_eow(tmp_path):
    write_ptb(tmp_path / "ptb")
    data = load_dataset("ptb", root=tmp_path)
    assert data.max_word_len == len(UNK) + 2 and data.word_chars.shape == (8, 7)
    assert data.num_chars == FIRST_CHAR_ID + len(data.chars)
    cat = data.word_chars[data.vocab.index("cat")].tolist()
    spelled = [FIRST_CHAR_ID + data.chars.index(c) for c in "cat"]
    assert cat == [CHAR_BOW, *spelled, CHAR_EOW, CHAR_PAD, CHAR_PAD]


def test_batchify_lays_contiguous_chunks_in_columns():
    tokens = torch.arange(23)
    batched = batchify(tokens, 4)
    assert batched.shape == (5, 4)
    assert batched[:, 1].tolist() == [5, 6, 7, 8, 9]
    with pytest.raises(DatasetError, match="too few"):
        batchify(torch.arange(5), 4)


def test_bptt_windows_cover_every_next_token_once():
    batched = batchify(torch.arange(40), 2)  # [20, 2]
    windows = list(bptt_windows(batched, 7))
    assert [x.shape[0] for x, _ in windows] == [7, 7, 5] and num_windows(batched, 7) == 3
    inputs = torch.cat([x for x, _ in windows])
    targets = torch.cat([y for _, y in windows])
    assert torch.equal(inputs, batched[:-1]) and torch.equal(targets, batched[1:])


def test_synthetic_text_is_deterministic_markov_text():
    first = load_dataset("synthetic_text", words=30, branching=2, train_lines=200)
    again = load_dataset("synthetic_text", words=30, branching=2, train_lines=200)
    other = load_dataset("synthetic_text", words=30, branching=2, train_lines=200, corpus_seed=7)
    assert torch.equal(first.train, again.train) and first.vocab == again.vocab
    assert not torch.equal(first.train[:100], other.train[:100])
    assert first.vocab_size == 31 and first.vocab[-1] == EOS
    successors = defaultdict(set)
    eos = first.vocab.index(EOS)
    for a, b in zip(first.train[:-1].tolist(), first.train[1:].tolist()):
        if a != eos:
            successors[a].add(b)
    assert max(len(s) for s in successors.values()) <= 3  # two chain successors or <eos>


def test_synthetic_text_rejects_bad_sizes():
    with pytest.raises(DatasetError, match="branching <= words"):
        load_dataset("synthetic_text", words=3, branching=4)


def test_tokenize_english_is_ptb_like():
    assert tokenize_english("Let's go -- 3.5 so-called (US) miles; 1,000 times!") == [
        "let", "'s", "go", "N", "so-called", "us", "miles", "N", "times"
    ]


def write_wordnet(folder: Path) -> Path:
    """Four WordNet data files in the package's format: license lines, then one synset per line."""
    folder.mkdir()
    header = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    for part in ("adj", "adv", "noun", "verb"):
        lines = [header]
        for k in range(5):
            lines.append(
                f"0000{k} 00 {part[0]} 01 word{k} 0 000 | a {part} gloss number {k}; \"the {part} example {k}\"  \n"
            )
        (folder / f"data.{part}").write_text("".join(lines))
    return folder


def test_wordnet_turns_glosses_into_ptb_text(tmp_path):
    source = write_wordnet(tmp_path / "wordnet")
    data = load_dataset("wordnet", root=tmp_path, source=str(source), heldout_every=5, vocab_size=10)
    # synsets 3 and 4 of every file (k % 5) are valid and test; sentences: definition, then example.
    assert words(data, data.val[:11]) == "a adj gloss number N <eos> the adj example N <eos>".split()
    assert words(data, data.test[:5]) == "a adj gloss number N".split()
    # The 8 most frequent training words + <unk> + <eos>: of the four part-of-speech words (6 times
    # each) the ties keep "adj" and "adv"; "noun" and "verb" become <unk>.
    assert data.vocab_size == 10 and "noun" not in data.vocab
    assert words(data, data.train[-5:]) == "the <unk> example N <eos>".split()
    assert data.train.numel() == 4 * 3 * (6 + 5)


def test_wordnet_missing_source_says_which_package(tmp_path):
    with pytest.raises(DatasetError, match="wordnet-base"):
        load_dataset("wordnet", root=tmp_path, source=str(tmp_path / "nothing"))
