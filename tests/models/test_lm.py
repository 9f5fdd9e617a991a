"""Language models: shapes, state carrying, causality, tying, and the paper's sizes.

Sizes for PTB (10000 words, longest word 19 letters → ``max_word_len`` 21):

    registry name   architecture                                           parameters
    lstm-1500       tied embedding 1500, 1 × LSTM 1500, dropout 0.65         33.02M
    cnn-lstm        Kim et al. large: 1100 filters, 2 highways, 2 × 650      19.37M  (Kim et al.: 19M)
"""

from __future__ import annotations

import pytest
import torch

from ban.datasets.text import load_synthetic_text
from ban.models import build_model, model_names, num_parameters
from ban.models.lm import CharCNNLSTM, TiedLSTM, detach_hidden

DATA = load_synthetic_text(words=20, train_lines=20, valid_lines=5, test_lines=5)
SMALL_CNN = dict(widths=[1, 2, 3], filters_per_width=4, max_filters=8, char_dim=5, lstm_units=12, highway_layers=1)


def small_lm(name: str) -> torch.nn.Module:
    if name == "cnn-lstm":
        return build_model(name, 0, DATA.vocab_size, num_chars=DATA.num_chars, max_word_len=DATA.max_word_len,
                           word_chars=DATA.word_chars, **SMALL_CNN)
    return build_model(name, 0, DATA.vocab_size)


def test_names_are_registered():
    assert {"lstm-<units>", "cnn-lstm"} <= set(model_names())


@pytest.mark.parametrize("name", ["lstm-16", "cnn-lstm"])
def test_forward_shapes_and_carried_state(name):
    torch.manual_seed(0)
    model = small_lm(name).eval()
    tokens = DATA.train[:24].view(6, 4)
    logits, hidden = model(tokens)
    assert logits.shape == (6, 4, DATA.vocab_size)
    layers, units = model.lstm.num_layers, model.lstm.hidden_size
    assert hidden[0].shape == hidden[1].shape == (layers, 4, units)
    # Reading the sequence in two windows with the state carried equals reading it at once.
    first, state = model(tokens[:2])
    second, _ = model(tokens[2:], detach_hidden(state))
    torch.testing.assert_close(torch.cat([first, second]), logits)


@pytest.mark.parametrize("name", ["lstm-16", "cnn-lstm"])
def test_outputs_depend_only_on_the_past(name):
    torch.manual_seed(0)
    model = small_lm(name).eval()
    tokens = DATA.train[:20].view(5, 4)
    changed = tokens.clone()
    changed[3] = (changed[3] + 1) % DATA.vocab_size
    before, _ = model(tokens)
    after, _ = model(changed)
    torch.testing.assert_close(before[:3], after[:3])
    assert not torch.allclose(before[3], after[3])


def test_lstm_ties_decoder_to_embedding():
    model = build_model("lstm-1500", 0, 100)
    assert isinstance(model, TiedLSTM) and model.decoder.weight is model.embedding.weight
    assert model.lstm.num_layers == 1 and model.input_dropout.p == 0.65 and model.lstm.hidden_size == 1500


def test_lstm_1500_size_on_ptb():
    with torch.device("meta"):
        model = build_model("lstm-1500", 0, 10000)
    assert num_parameters(model) == 10000 * 1500 + 4 * 1500 * 3000 + 8 * 1500 + 10000


def test_cnn_lstm_defaults_are_kims_large_model():
    with torch.device("meta"):
        model = build_model("cnn-lstm", 0, 10000, num_chars=51, max_word_len=21)
    assert isinstance(model, CharCNNLSTM)
    assert [conv.out_channels for conv in model.convs] == [50, 100, 150, 200, 200, 200, 200]
    assert [conv.kernel_size[0] for conv in model.convs] == [1, 2, 3, 4, 5, 6, 7]
    assert model.char_embedding.embedding_dim == 15 and len(model.highways) == 2
    assert (model.lstm.num_layers, model.lstm.hidden_size, model.output_dropout.p) == (2, 650, 0.5)
    assert abs(num_parameters(model) - 19.37e6) < 0.01e6


def test_cnn_lstm_spelling_travels_with_the_weights():
    model = small_lm("cnn-lstm")
    assert torch.equal(model.word_chars, DATA.word_chars)
    rebuilt = build_model("cnn-lstm", 0, DATA.vocab_size, num_chars=DATA.num_chars, max_word_len=DATA.max_word_len, **SMALL_CNN)
    rebuilt.load_state_dict(model.state_dict())
    assert torch.equal(rebuilt.word_chars, DATA.word_chars)


def test_cnn_lstm_rejects_filters_wider_than_words():
    with pytest.raises(ValueError, match="filter width 7 exceeds max_word_len 5"):
        build_model("cnn-lstm", 0, 10, num_chars=8, max_word_len=5)
    with pytest.raises(ValueError, match="word_chars has shape"):
        small_lm("cnn-lstm").set_word_chars(torch.zeros(3, 3, dtype=torch.int64))
