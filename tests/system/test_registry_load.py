"""The registry under load, as deployed: gunicorn's workers on a real PostgreSQL.

200 simulated nodes deliver 20,000 applications to 4 workers, 16 nodes at a time,
while answers are lost, envelopes are sent again after their receipt, and workers are
killed with SIGKILL at random. The registry must end with exactly 20,000 applications,
and every node with a receipt, signed by the registry, for every one of its own.
bench/registry.py measures the same delivery in applications per second.
"""

from __future__ import annotations

from kiosk.registry import create_registry_app, database
from tests.registry_load import GunicornRegistry, deliver_all, killing, make_nodes, registry_keys

NODES = 200
PER_NODE = 100
WORKERS = 4


def test_20000_applications_from_200_nodes_arrive_exactly_once(tmp_path, postgres):
    url = postgres.create_database()
    instance = tmp_path / "registry"
    encryption, signing = registry_keys(instance)
    config = {"DATABASE_URL": url}
    create_registry_app({"INSTANCE": instance, **config})  # the schema, as at a first start
    nodes = make_nodes(config, NODES, PER_NODE, encryption)
    registry = GunicornRegistry(instance, url, WORKERS).start()
    try:
        stop_killing = killing(registry, every=2.0)
        try:
            tally = deliver_all(registry.port, nodes, signing, threads=16, lose=0.03, repeat=0.02)
        finally:
            stop_killing()
    finally:
        registry.stop()
        database.close_pools()

    with database.connected(config, pooled=False) as db:
        rows = db.rows("SELECT node_id, submission_id, id FROM applications")
    postgres.drop_database(url)

    total = NODES * PER_NODE
    assert len(rows) == total
    held = {(row["node_id"], row["submission_id"]): f"R{row['id']:08d}" for row in rows}
    for node in nodes:
        assert set(node.receipts) == set(node.outbox)  # every receipt, each checked as signed
        for submission_id, answer in node.receipts.items():
            assert held[(node.node_id, submission_id)] == answer["registry_id"]
    # the faults happened: lost answers, repeats, and killed workers mid-delivery
    assert registry.kills >= 5 and tally.lost > 0 and tally.repeats > 0
