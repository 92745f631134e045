"""sb3-contrib's ``RecurrentPPO`` with an LSTM or a GRU, each training sequence run in one recurrent call.

Speed: sb3-contrib's policy steps its LSTM one time step at a time, in a Python loop, whenever a
sequence holds an episode start, which on CartPole is nearly every minibatch. Its rollout buffer cuts
sequences at episode starts, so a start can only be a sequence's first step; :class:`MlpLstmPolicy`
zeroes those sequences' initial states and runs the whole batch of sequences in one call. The
arithmetic is the same (and the outputs equal); a RecurrentPPO update on CartPoleNoVel-v1 takes about a
quarter of the time.

The GRU: sb3-contrib ships only an LSTM. Its recurrent policy calls the LSTM as ``lstm(x, (h, c))`` and its
rollout buffer stores both states of every step. :class:`GRUWithLSTMState` puts a GRU behind that very
call: the GRU's one hidden state travels as ``h`` and ``c`` rides along untouched. ``c`` starts at
zero and is only ever multiplied by the episode-start mask, so it stays zero and costs one unused
tensor per step in the buffer: a small price for reusing every line of sb3-contrib's training code.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch as th
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import BasePolicy
from torch import nn

__all__ = ["GRUWithLSTMState", "MlpGruPolicy", "MlpLstmPolicy", "SequencePPO"]


class GRUWithLSTMState(nn.GRU):
    """An ``nn.GRU`` called like an ``nn.LSTM``: the state is an ``(h, c)`` pair and ``c`` is passed through.

    Example:
        >>> gru = GRUWithLSTMState(3, 8)
        >>> h, c = th.zeros(1, 5, 8), th.zeros(1, 5, 8)
        >>> out, (h2, c2) = gru(th.ones(2, 5, 3), (h, c))
        >>> out.shape, h2.shape, c2 is c
        (torch.Size([2, 5, 8]), torch.Size([1, 5, 8]), True)
    """

    def forward(  # type: ignore[override]
        self, input: th.Tensor, state: tuple[th.Tensor, th.Tensor]
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        hidden, cell = state
        output, hidden = super().forward(input, hidden.contiguous())
        return output, (hidden, cell)


class MlpLstmPolicy(RecurrentActorCriticPolicy):
    """sb3-contrib's recurrent actor-critic, whose LSTMs take a batch of whole sequences in one call.

    Takes the same arguments as ``RecurrentActorCriticPolicy``.
    """

    @staticmethod
    def _process_sequence(
        features: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
        lstm: nn.LSTM,
    ) -> tuple[th.Tensor, th.Tensor]:  # sb3-contrib's annotation: the second item is the (h, c) pair
        """The recurrent layer's outputs for ``n_seq`` padded sequences laid out one after another.

        A sequence may start an episode only at its first step (sb3-contrib's buffer splits them there;
        while acting, every sequence is one step long): then its initial state is zeroed and the
        whole batch goes through ``lstm`` at once. Anything else takes sb3-contrib's step-by-step path.
        """
        n_seq = lstm_states[0].shape[1]
        starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)  # (time, n_seq)
        if bool((starts[1:] != 0).any()):
            return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        keep = (1.0 - starts[0]).view(1, n_seq, 1)
        sequences = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)  # (time, n_seq, features)
        output, states = lstm(sequences, (keep * lstm_states[0], keep * lstm_states[1]))
        return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), states


class MlpGruPolicy(MlpLstmPolicy):
    """sb3-contrib's recurrent actor-critic with its LSTMs swapped for GRUs of the same size.

    Takes the same arguments as ``RecurrentActorCriticPolicy``; ``lstm_hidden_size``,
    ``n_lstm_layers`` and ``lstm_kwargs`` size the GRUs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The attributes keep sb3-contrib's names (and LSTM annotations): its code calls them by name.
        self.lstm_actor = self._gru_like(self.lstm_actor)  # type: ignore[assignment]
        if self.lstm_critic is not None:
            self.lstm_critic = self._gru_like(self.lstm_critic)  # type: ignore[assignment]
        # The parent built its optimizer over the LSTMs' weights: rebuild it over the GRUs'.
        lr_schedule = kwargs.get("lr_schedule", args[2] if len(args) > 2 else None)
        assert lr_schedule is not None
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def _gru_like(self, lstm: nn.LSTM) -> GRUWithLSTMState:
        return GRUWithLSTMState(lstm.input_size, lstm.hidden_size, num_layers=lstm.num_layers, **self.lstm_kwargs).to(
            self.device
        )


class SequencePPO(RecurrentPPO):
    """``RecurrentPPO`` whose ``MlpLstmPolicy`` and ``MlpGruPolicy`` are the ones above; training is
    sb3-contrib's, untouched."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        **RecurrentPPO.policy_aliases,
        "MlpLstmPolicy": MlpLstmPolicy,
        "MlpGruPolicy": MlpGruPolicy,
    }
