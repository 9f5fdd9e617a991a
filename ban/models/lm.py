"""Word-level language models: ``forward(tokens [T, B], hidden) -> (logits [T, B, V], hidden)``.

- ``lstm-<units>``: embedding → dropout → ``layers``-layer LSTM of ``units`` → dropout → linear
  decoder whose weight is the embedding (tied, Press & Wolf 2017; embedding size = ``units``).
  The paper's model is ``lstm-1500`` (1 layer, dropout 0.65).
- ``cnn-lstm``: the character-aware model of Kim et al. (2016): every word is spelled as
  ``[BOW, c_1..c_n, EOW, pad..]`` (``word_chars [V, L]``), embedded per character (``char_dim``),
  convolved with filters of widths ``widths`` (``min(max_filters, filters_per_width · w)`` filters
  of width ``w``), tanh, max over positions, ``highway_layers`` highway layers
  ``y = t ⊙ relu(W_h x) + (1 − t) ⊙ x``, ``t = σ(W_t x + b_t)``, into an ``lstm_layers``-layer LSTM
  of ``lstm_units`` and a linear decoder; dropout between LSTM layers and before the decoder (not on
  the highway output, as in Kim et al.). Defaults are Kim et al.'s large model (char_dim 15,
  widths 1..7, 50·w filters capped at 200, 2 highway layers, 2 × 650 LSTM, dropout 0.5).

Both factories take ``in_channels`` (unused, 0 for text) and ``num_classes`` (the vocabulary size).
``cnn-lstm`` is built from ``num_chars`` and ``max_word_len``; the spelling table is a buffer, so a
``model.pt`` restores it, and ``word_chars`` may also be given when building.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ban.models.registry import MODELS

Hidden = tuple[torch.Tensor, torch.Tensor]


class LanguageModel(nn.Module):
    """Shared recurrent part: ``encode(tokens) [T, B, E]`` → LSTM → dropout → ``decoder``."""

    lstm: nn.LSTM
    decoder: nn.Linear
    output_dropout: nn.Dropout

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def init_hidden(self, batch_size: int) -> Hidden:
        """Zero ``(h, c)`` of shape ``[layers, B, units]`` on the model's device."""
        weight = self.decoder.weight
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        return weight.new_zeros(shape), weight.new_zeros(shape)

    def forward(self, tokens: torch.Tensor, hidden: Optional[Hidden] = None) -> tuple[torch.Tensor, Hidden]:
        if hidden is None:
            hidden = self.init_hidden(tokens.shape[1])
        output, hidden = self.lstm(self.encode(tokens), hidden)
        return self.decoder(self.output_dropout(output)), hidden


def detach_hidden(hidden: Hidden) -> Hidden:
    """The state carried to the next BPTT window, cut from the previous window's graph."""
    return hidden[0].detach(), hidden[1].detach()


class TiedLSTM(LanguageModel):
    def __init__(self, vocab_size: int, units: int, layers: int = 1, dropout: float = 0.65, init_range: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, units)
        self.input_dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(units, units, num_layers=layers, dropout=dropout if layers > 1 else 0.0)
        self.output_dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(units, vocab_size)
        self.decoder.weight = self.embedding.weight
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -init_range, init_range)
        nn.init.zeros_(self.decoder.bias)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.input_dropout(self.embedding(tokens))


class Highway(nn.Module):
    """``y = t ⊙ relu(W_h x + b_h) + (1 − t) ⊙ x`` with ``t = σ(W_t x + b_t)``, ``b_t`` initialised to −2."""

    def __init__(self, size: int):
        super().__init__()
        self.transform = nn.Linear(size, size)
        self.gate = nn.Linear(size, size)
        nn.init.constant_(self.gate.bias, -2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.gate(x))
        return gate * torch.relu(self.transform(x)) + (1.0 - gate) * x


class CharCNNLSTM(LanguageModel):
    def __init__(
        self,
        vocab_size: int,
        num_chars: int,
        max_word_len: int,
        word_chars: Optional[torch.Tensor] = None,
        char_dim: int = 15,
        widths: Sequence[int] = (1, 2, 3, 4, 5, 6, 7),
        filters_per_width: int = 50,
        max_filters: int = 200,
        highway_layers: int = 2,
        lstm_units: int = 650,
        lstm_layers: int = 2,
        dropout: float = 0.5,
        init_range: float = 0.05,
    ):
        super().__init__()
        widths = [int(w) for w in widths]
        if max(widths) > max_word_len:
            raise ValueError(f"cnn-lstm: filter width {max(widths)} exceeds max_word_len {max_word_len}")
        self.register_buffer("word_chars", torch.zeros(vocab_size, max_word_len, dtype=torch.int64))
        if word_chars is not None:
            self.set_word_chars(word_chars)
        self.char_embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.convs = nn.ModuleList(
            nn.Conv1d(char_dim, min(max_filters, filters_per_width * w), kernel_size=w) for w in widths
        )
        features = sum(conv.out_channels for conv in self.convs)
        self.highways = nn.Sequential(*(Highway(features) for _ in range(highway_layers)))
        self.lstm = nn.LSTM(features, lstm_units, num_layers=lstm_layers, dropout=dropout if lstm_layers > 1 else 0.0)
        self.output_dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(lstm_units, vocab_size)
        # Character embedding, convolutions and highways keep PyTorch's default initialisation
        # (N(0, 1) embeddings, fan-in scaled weights): with a uniform ±init_range everywhere the
        # spelling signal of small models vanishes and they stay at unigram perplexity.
        for parameter in (*self.lstm.parameters(), *self.decoder.parameters()):
            nn.init.uniform_(parameter, -init_range, init_range)

    def set_word_chars(self, word_chars: torch.Tensor) -> None:
        if tuple(word_chars.shape) != tuple(self.word_chars.shape):
            raise ValueError(f"cnn-lstm: word_chars has shape {tuple(word_chars.shape)}, expected {tuple(self.word_chars.shape)}")
        self.word_chars.copy_(word_chars)

    def word_features(self, words: torch.Tensor) -> torch.Tensor:
        """``[N]`` word ids → ``[N, features]``: char CNN, max-over-time, highway layers."""
        chars = self.char_embedding(self.word_chars[words]).transpose(1, 2)  # [N, char_dim, L]
        pooled = [torch.tanh(conv(chars)).amax(dim=2) for conv in self.convs]
        return self.highways(torch.cat(pooled, dim=1))

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        # The CNN runs once per distinct word of the batch, then features are gathered per token.
        unique, inverse = torch.unique(tokens, return_inverse=True)
        return self.word_features(unique)[inverse]


@MODELS.register("lstm-<units>")
def lstm(in_channels: int, num_classes: int, units: int, **kwargs) -> TiedLSTM:
    return TiedLSTM(num_classes, units, **kwargs)


@MODELS.register("cnn-lstm")
def cnn_lstm(in_channels: int, num_classes: int, num_chars: int, max_word_len: int, **kwargs) -> CharCNNLSTM:
    return CharCNNLSTM(num_classes, num_chars, max_word_len, **kwargs)
