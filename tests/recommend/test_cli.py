"""`aiqleads train recommender`, `aiqleads models list|activate|rollback recommender` and
`aiqleads evaluate recommender`, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.cli import main
from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from tests.recommend.test_deployment import _world


async def _run(cli: CliRunner, *args: str) -> Result:
    # The commands run their own event loop (asyncio.run): off this test's.
    return await asyncio.to_thread(cli.invoke, main, list(args))


async def test_an_operator_trains_lists_activates_and_rolls_back_recommenders(
    cli: CliRunner,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    # Given agents with a history in the event log (on the test clock's days)
    await _world(sessions, settings, cipher, clock)
    window = [
        "--since",
        (clock.now() - timedelta(days=26)).strftime("%Y-%m-%d %H:%M:%S"),
        "--until",
        clock.now().strftime("%Y-%m-%d %H:%M:%S"),
        "--artifacts",
        str(tmp_path),
    ]
    # When two versions are trained from it, the second without serving it
    first = await _run(cli, "train", "recommender", *window, "--version", "v1")
    assert first.exit_code == 0, first.output
    trained = json.loads(first.output)
    assert (trained["version"], trained["serving"]) == ("v1", True)
    assert (tmp_path / "v1" / "model.txt").is_file()
    second = await _run(cli, "train", "recommender", *window, "--version", "v2", "--no-activate")
    assert second.exit_code == 0, second.output
    # Then the registry lists both, v1 serving
    listed = await _run(cli, "models", "list", "recommender")
    assert listed.exit_code == 0, listed.output
    rows = {r["version"]: r for r in map(json.loads, listed.output.splitlines())}
    assert set(rows) == {"v1", "v2"}
    assert rows["v1"]["activated_at"] is not None and rows["v2"]["activated_at"] is None
    # When v2 is activated, then rolled back twice
    on = await _run(cli, "models", "activate", "recommender", "v2")
    assert (on.exit_code, on.output.strip()) == (0, "recommender v2 is serving")
    back = await _run(cli, "models", "rollback", "recommender")
    assert back.exit_code == 0, back.output
    assert back.output.strip() == "recommender v2 rolled back; now serving v1"
    last = await _run(cli, "models", "rollback", "recommender")
    assert last.output.strip() == ("recommender v1 rolled back; now serving the cold-start scorer")
    # Then nothing is left to roll back, and an unknown version cannot be served
    none = await _run(cli, "models", "rollback", "recommender")
    assert none.exit_code == 1 and "nothing to roll back" in none.output
    unknown = await _run(cli, "models", "activate", "recommender", "v9")
    assert unknown.exit_code == 1
    assert "no recommender version 'v9' is registered" in unknown.output


async def test_training_on_a_window_without_history_or_backwards_is_refused(
    cli: CliRunner, tmp_path: Path
) -> None:
    # An empty log: a clear error, nothing registered
    empty = await _run(
        cli, "train", "recommender", "--until", "2026-06-01", "--artifacts", str(tmp_path)
    )
    assert empty.exit_code == 1 and "Error:" in empty.output, empty.output
    backwards = await _run(
        cli,
        "train",
        "recommender",
        "--since",
        "2026-06-02",
        "--until",
        "2026-06-01",
        "--artifacts",
        str(tmp_path),
    )
    assert backwards.exit_code == 1
    assert "since must be before until" in backwards.output
    listed = await _run(cli, "models", "list", "recommender")
    assert (listed.exit_code, listed.output) == (0, "")
    # An unknown kind of model is refused by the command itself
    other = await _run(cli, "models", "list", "scorer")
    assert other.exit_code == 2 and "recommender" in other.output


async def test_the_offline_evaluation_compares_the_model_with_the_baselines(
    cli: CliRunner,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given leads in the database
    await _world(sessions, settings, cipher, clock)
    # When simulated agents are evaluated on them (and rolled back)
    res = await _run(
        cli, "evaluate", "recommender", "--agents", "12", "--days", "10", "--test-days", "3"
    )
    # Then it prints the report as JSON: the learned model and each baseline, scored at k
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert set(report["learned_vs"]) == {"popularity", "random", "nearest"}
    assert {"popularity", "random", "nearest"} < set(report["scores"])
    assert all(0 <= s["ndcg"] <= 1 for s in report["scores"].values())
    assert report["split"]["test_interactions"] > 0
    assert report["best_baseline"] in report["learned_vs"]
    # And the simulation was rolled back: a second run (same seed) splits as many interactions
    again = await _run(
        cli, "evaluate", "recommender", "--agents", "12", "--days", "10", "--test-days", "3"
    )
    split, first = json.loads(again.output)["split"], report["split"]
    assert (split["train_interactions"], split["test_interactions"]) == (
        first["train_interactions"],
        first["test_interactions"],
    )
