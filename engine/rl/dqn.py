"""Deep Q-learning on CartPole: the whole collect-and-learn loop in one compiled call.

DQN (Mnih et al., 2015, "Human-level control through deep reinforcement learning"):
a network ``Q(s, .)`` scores each action; acting epsilon-greedily fills a replay
buffer; each learning update moves ``Q(s, a)`` towards ``r + gamma max_a' Q_target(s',
a')`` on a random batch of stored transitions, where ``Q_target`` is a copy of the
network refreshed every ``target_period`` updates (or averaged in, Polyak, with
``tau < 1``). Double DQN (van Hasselt et al., 2016) picks ``a'`` with the online
network and scores it with the target one.

One iteration steps ``n_envs`` cart-poles at once (``vmap``), stores their
transitions, and every ``train_every`` iterations makes one learning update;
``train(state, frames)`` runs ``frames`` iterations fused in one ``lax.scan``. The
network comes from the layer registry (``engine.model``), the update from the
optimizer registry. The numbers a user changes (learning rate, gamma, epsilon
schedule, target period and tau, train frequency, learning start) are traced
``DQNValues``: changing them never recompiles. The structure (``DQNStructure``) is the
static part of the state's pytree and keys the compiled functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.blocks import ACTIVATIONS, INITIALIZERS, OPTIMIZERS
from engine.blocks.losses import Head
from engine.blocks.optimizers import OptimizerValues, make_optimizer
from engine.errors import SpecError
from engine.model import Network, apply_network, init_network
from engine.rl import cartpole, replay
from engine.rl.cartpole import CartPoleState, Episode
from engine.spec import OptimizerSpec, dense

LOSSES = {"mse": lambda d: jnp.square(d),  # as PyTorch's MSELoss
          "huber": lambda d: optax.huber_loss(d, delta=1.0)}  # 0.5 d^2 inside |d| < 1
N_ACTIONS = 2


@dataclass(frozen=True)
class DQNConfig:
    """Everything a DQN run is, in one frozen value (``STRUCTURE`` fields shape the
    compiled loop; the others are traced ``DQNValues``).

    Counts: ``eps_decay_steps`` and ``learning_starts`` are in environment steps (all
    environments together), ``target_period`` in learning updates, ``train_every`` in
    iterations (one step of every environment).
    """

    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    init: str = "he_uniform"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    gamma: float = 0.99
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay_steps: int = 10_000
    buffer_size: int = 10_000
    batch_size: int = 64
    target_period: int = 100
    tau: float = 1.0  # 1: copy every target_period updates; < 1: Polyak averaging
    loss: str = "mse"
    double: bool = False
    n_envs: int = 8
    learning_starts: int = 1_000
    train_every: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        ACTIVATIONS.get(self.activation, "activation")
        INITIALIZERS.get(self.init, "init")
        OPTIMIZERS.get(self.optimizer, "optimizer")
        if self.loss not in LOSSES:
            raise SpecError("loss", f"unknown loss {self.loss!r}; choose one of: "
                                    f"{', '.join(LOSSES)}")
        if self.buffer_size < max(self.n_envs, self.batch_size):
            raise SpecError("buffer_size", f"the buffer ({self.buffer_size}) must hold at "
                                           f"least one step of every environment "
                                           f"({self.n_envs}) and one batch "
                                           f"({self.batch_size})")
        for name in ("eps_decay_steps", "target_period", "train_every", "n_envs",
                     "batch_size"):
            if getattr(self, name) < 1:
                raise SpecError(name, f"must be at least 1, got {getattr(self, name)}")

    def replace(self, **changes: Any) -> DQNConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class DQNStructure:
    """The config fields that change shapes or code (changing one compiles anew): the
    static part of ``DQNState``, which keys the compiled loop."""

    hidden: tuple[int, ...]
    activation: str
    init: str
    optimizer: str
    loss: str
    double: bool
    n_envs: int
    buffer_size: int
    batch_size: int


STRUCTURE = tuple(f.name for f in dataclasses.fields(DQNStructure))


def structure_of(config: DQNConfig) -> DQNStructure:
    """``config``'s structural fields."""
    return DQNStructure(*(getattr(config, name) for name in STRUCTURE))


class DQNValues(NamedTuple):
    """The traced numbers of a ``DQNConfig`` (float32 / int32 scalars)."""

    optimizer: OptimizerValues  # learning_rate and the optimizer's other numbers
    gamma: jax.Array
    eps_start: jax.Array
    eps_end: jax.Array
    eps_decay_steps: jax.Array
    target_period: jax.Array
    tau: jax.Array
    learning_starts: jax.Array
    train_every: jax.Array


def values_of(config: DQNConfig) -> DQNValues:
    """``config``'s traced numbers (NumPy scalars: building them compiles nothing)."""
    opt = OptimizerSpec(name=config.optimizer, learning_rate=config.learning_rate)
    f, i = np.float32, np.int32
    return DQNValues(OptimizerValues(*(f(getattr(opt, n)) for n in OptimizerValues._fields)),
                     f(config.gamma), f(config.eps_start), f(config.eps_end),
                     f(config.eps_decay_steps), i(config.target_period), f(config.tau),
                     i(config.learning_starts), i(config.train_every))


class _LayerValues(NamedTuple):  # dense layers read no traced options
    layers: tuple


def q_network(config: DQNConfig | DQNStructure) -> Network:
    """The Q-network: 4 state values in, one Q-value per action out (linear)."""
    layers = tuple(dense(units, config.activation) for units in config.hidden)
    return Network(layers, cartpole.OBS_NAMES, Head("regression", 0, N_ACTIONS, "linear"),
                   "mse", config.init)


def q_values(net: Network, params: Any, obs: jax.Array) -> jax.Array:
    """``Q(s, .)``: ``(..., 4)`` states -> ``(..., 2)`` action values."""
    z, _, _, _ = apply_network(net, params, [{}] * (len(net.layers) + 1),
                               obs.astype(jnp.float32), _LayerValues(({},) * len(net.layers)),
                               key=None, train=False)
    return z


@partial(jax.tree_util.register_dataclass,
         data_fields=["values", "params", "target", "opt_state", "buffer", "env",
                      "ep_return", "key", "iteration", "updates"],
         meta_fields=["structure"])
@dataclass(frozen=True)
class DQNState:
    """Everything that changes while learning, as one pytree.

    Attributes:
        structure: the run's ``DQNStructure`` (static: it keys the compiled loop).
        values: the traced ``DQNValues``; ``with_values`` swaps them in.
        params, target: the online and target networks' parameters.
        opt_state: the optimizer's state.
        buffer: the ``replay.Replay`` ring buffer.
        env: the ``E`` cart-poles, a batched ``CartPoleState`` (obs ``(E, 4)``).
        ep_return: ``(E,)``: return so far of each environment's episode.
        key: PRNG key.
        iteration: int32: iterations run (environment steps = iteration * E).
        updates: int32: learning updates made.
    """

    structure: DQNStructure
    values: DQNValues
    params: Any
    target: Any
    opt_state: Any
    buffer: replay.Replay
    env: CartPoleState
    ep_return: jax.Array
    key: jax.Array
    iteration: jax.Array
    updates: jax.Array

    def with_values(self, config: DQNConfig) -> DQNState:
        """This state with ``config``'s numbers (learning rate, gamma, epsilon, ...);
        the structure must be the same (else start over with ``init``)."""
        changed = [n for n in STRUCTURE
                   if getattr(config, n) != getattr(self.structure, n)]
        if changed:
            raise SpecError(changed[0], "changes the network, optimizer, loss, environments, "
                                        "buffer or batch: start over with init")
        return dataclasses.replace(self, values=values_of(config))


class DQNLog(NamedTuple):
    """What ``train`` reports per iteration (host NumPy arrays).

    Attributes:
        returns: ``(frames, E)``: the return of each episode that ended at that
            iteration in that environment, NaN elsewhere (``episode_returns``).
        loss: ``(frames,)``: the learning update's loss, NaN where none was made.
        mean_q: ``(frames,)``: mean over the environments of ``max_a Q(s, a)``.
        epsilon: ``(frames,)``: the exploration rate used.
    """

    returns: np.ndarray
    loss: np.ndarray
    mean_q: np.ndarray
    epsilon: np.ndarray


def episode_returns(log: DQNLog) -> np.ndarray:
    """The returns of the episodes completed during a ``train`` call, in order."""
    r = np.asarray(log.returns).ravel()
    return r[~np.isnan(r)]


def init(config: DQNConfig, key: jax.Array | None = None) -> DQNState:
    """A fresh run: networks drawn, empty buffer, ``E`` environments reset.

    ``key`` defaults to ``PRNGKey(config.seed)``.
    """
    key = jax.random.PRNGKey(config.seed) if key is None else key
    k_net, k_env, key = jax.random.split(key, 3)
    net = q_network(config)
    params, _ = init_network(net, k_net)
    values = values_of(config)
    opt = make_optimizer(config.optimizer, values.optimizer, values.optimizer.learning_rate)
    env = jax.vmap(lambda k: cartpole.reset(k, jnp.float32))(
        jax.random.split(k_env, config.n_envs))
    zero = jnp.zeros((), jnp.int32)
    return DQNState(structure_of(config), values, params, jax.tree.map(jnp.copy, params),
                    opt.init(params), replay.empty(config.buffer_size), env,
                    jnp.zeros((config.n_envs,), jnp.float32), key, zero, zero)


def epsilon(values: DQNValues, env_steps: jax.Array) -> jax.Array:
    """The linear schedule: ``eps_start`` to ``eps_end`` over ``eps_decay_steps``."""
    frac = jnp.clip(env_steps / values.eps_decay_steps, 0.0, 1.0)
    return values.eps_start + frac * (values.eps_end - values.eps_start)


def _td_loss(params, target, batch: replay.Transition, net: Network, config: DQNStructure,
             gamma: jax.Array):
    """Mean TD loss on a batch and the batch's mean Q (for the log)."""
    q = q_values(net, params, batch.obs)  # (B, 2)
    q_taken = jnp.take_along_axis(q, batch.action[:, None], axis=1)[:, 0]  # (B,)
    q_next = q_values(net, target, batch.next_obs)  # (B, 2)
    if config.double:  # choose with the online network, score with the target
        best = jnp.argmax(q_values(net, params, batch.next_obs), axis=1)
        next_value = jnp.take_along_axis(q_next, best[:, None], axis=1)[:, 0]
    else:
        next_value = jnp.max(q_next, axis=1)
    y = batch.reward + gamma * jnp.where(batch.terminal, 0.0, jax.lax.stop_gradient(next_value))
    return jnp.mean(LOSSES[config.loss](q_taken - y)), jnp.mean(q)


def _learn(s: DQNState, key: jax.Array) -> tuple[DQNState, jax.Array]:
    """One learning update on a sampled batch, then the target network's update."""
    config, v, net = s.structure, s.values, q_network(s.structure)
    batch = replay.sample(s.buffer, key, config.batch_size)
    (loss, _), grads = jax.value_and_grad(_td_loss, has_aux=True)(
        s.params, s.target, batch, net, config, v.gamma)
    opt = make_optimizer(config.optimizer, v.optimizer, v.optimizer.learning_rate)
    updates, opt_state = opt.update(grads, s.opt_state, s.params)
    params = optax.apply_updates(s.params, updates)
    n = s.updates + 1
    sync = n % v.target_period == 0

    def target_leaf(online, old):
        mixed = jnp.where(v.tau >= 1.0, online, old + v.tau * (online - old))
        return jnp.where(sync, mixed, old)

    target = jax.tree.map(target_leaf, params, s.target)
    return dataclasses.replace(s, params=params, target=target, opt_state=opt_state,
                               updates=n), loss


def _iteration(s: DQNState, _):
    """Step every environment once (epsilon-greedy), store, maybe learn."""
    config, v, net = s.structure, s.values, q_network(s.structure)
    key, k_explore, k_random, k_reset, k_learn = jax.random.split(s.key, 5)
    eps = epsilon(v, s.iteration * config.n_envs)
    q = q_values(net, s.params, s.env.obs)  # (E, 2)
    explore = jax.random.uniform(k_explore, (config.n_envs,)) < eps
    action = jnp.where(explore, jax.random.randint(k_random, (config.n_envs,), 0, N_ACTIONS),
                       jnp.argmax(q, axis=1)).astype(jnp.int32)
    new_env, reward, done = jax.vmap(cartpole.step)(s.env, action)
    buffer = replay.add(s.buffer, replay.Transition(
        s.env.obs, action, reward, new_env.obs, cartpole.terminated(new_env.obs)))
    ep_return = s.ep_return + reward
    finished = jnp.where(done, ep_return, jnp.nan)  # (E,)
    iteration = s.iteration + 1
    s = dataclasses.replace(s, buffer=buffer, env=cartpole.reset_where(new_env, done, k_reset),
                            ep_return=jnp.where(done, 0.0, ep_return), key=key,
                            iteration=iteration)
    learn = ((iteration % v.train_every == 0) & (buffer.size >= v.learning_starts)
             & (buffer.size >= config.batch_size))
    s, loss = jax.lax.cond(learn, _learn, lambda s, k: (s, jnp.float32(jnp.nan)), s, k_learn)
    return s, (finished, loss, jnp.mean(jnp.max(q, axis=1)), eps)


@partial(jax.jit, static_argnames=("frames",))
def dqn_frames(state: DQNState, frames: int):  # named: a compile log says which loop
    return jax.lax.scan(_iteration, state, None, length=frames)


def train(state: DQNState, frames: int) -> tuple[DQNState, DQNLog]:
    """Run ``frames`` iterations (each: every environment steps once, and every
    ``train_every`` iterations one learning update) in one compiled call.

    The same structure and ``frames`` reuse one compilation whatever the values.
    """
    state, (finished, loss, mean_q, eps) = dqn_frames(state, frames)
    return state, DQNLog(*(np.asarray(a) for a in (finished, loss, mean_q, eps)))


def greedy_policy(state: DQNState):
    """The current greedy policy, ``(4,)`` obs -> action (for ``run_episode``)."""
    return lambda obs: jnp.argmax(q_values(q_network(state.structure), state.params, obs))


class QSlice(NamedTuple):
    """The network over a plane of states: pole angle across, angular velocity up
    (cart at rest in the middle: x = x_dot = 0).

    Attributes:
        theta: ``(R,)`` angles (rad), the columns.
        theta_dot: ``(R,)`` angular velocities (rad/s), the rows.
        q: ``(R, R, 2)``: both actions' values.
        policy: ``(R, R)`` int32: the greedy action (1 pushes right).
        max_q: ``(R, R)``: the greedy action's value.
    """

    theta: np.ndarray
    theta_dot: np.ndarray
    q: np.ndarray
    policy: np.ndarray
    max_q: np.ndarray


@partial(jax.jit, static_argnames=("resolution",))
def _q_slice(state: DQNState, resolution: int, theta_max: jax.Array, omega_max: jax.Array):
    theta = jnp.linspace(-theta_max, theta_max, resolution)
    omega = jnp.linspace(-omega_max, omega_max, resolution)
    tt, oo = jnp.meshgrid(theta, omega)  # (R, R): rows omega, columns theta
    obs = jnp.stack([jnp.zeros_like(tt), jnp.zeros_like(tt), tt, oo], axis=-1)  # (R, R, 4)
    q = q_values(q_network(state.structure), state.params, obs)  # (R, R, 2)
    return theta, omega, q, jnp.argmax(q, axis=-1).astype(jnp.int32), jnp.max(q, axis=-1)


def q_slice(state: DQNState, resolution: int = 41, theta_max: float = cartpole.THETA_THRESHOLD,
            omega_max: float = 2.0) -> QSlice:
    """Greedy policy and ``max_a Q`` on a ``resolution`` x ``resolution`` grid of pole
    angle in ``+-theta_max`` and angular velocity in ``+-omega_max`` (for a heatmap:
    the policy's decision boundary)."""
    out = _q_slice(state, resolution, np.float32(theta_max), np.float32(omega_max))
    return QSlice(*(np.asarray(a) for a in out))


@partial(jax.jit, static_argnames=("max_steps",))
def _rollout(state: DQNState, key: jax.Array, max_steps: int) -> Episode:
    return cartpole.run_episode(greedy_policy(state), cartpole.reset(key, jnp.float32),
                                max_steps)


def rollout(state: DQNState, key: jax.Array, max_steps: int = cartpole.MAX_STEPS) -> Episode:
    """One greedy episode from a random start, for the animation (NumPy arrays;
    ``obs[:int(alive.sum()) + 1]`` are the states actually visited)."""
    return Episode(*(np.asarray(a) for a in _rollout(state, key, max_steps)))


@partial(jax.jit, static_argnames=("episodes",))
def greedy_returns(state: DQNState, key: jax.Array, episodes: int = 100) -> jax.Array:
    """``(episodes,)`` returns of the greedy policy from random starts (500 steps each,
    masked after the end, all episodes in one vmapped call)."""
    policy = greedy_policy(state)
    starts = jax.vmap(lambda k: cartpole.reset(k, jnp.float32))(jax.random.split(key, episodes))
    return jax.vmap(lambda s0: cartpole.run_episode(policy, s0).ret)(starts)


def evaluate(state: DQNState, key: jax.Array, episodes: int = 100) -> float:
    """The greedy policy's mean return over ``episodes`` episodes (CartPole-v1 counts
    as solved at 475)."""
    return float(np.mean(np.asarray(greedy_returns(state, key, episodes))))
