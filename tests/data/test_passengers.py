"""Passenger files go through the same checks and quarantine as ratings; a classifier's
training data is the store's labelled passengers."""

from __future__ import annotations

from mlworkbench.cli.main import run
from mlworkbench.data.ingest import open_store, passenger_snapshot


def test_a_passenger_csv_is_recognised_checked_and_its_bad_row_quarantined(workspace, tmp_path):
    path = tmp_path / "passengers.csv"
    path.write_text("class,survived,sex,age,sibsp,parch,embarked\n"
                    "1,1,female,29,0,0,S\n"
                    "3rd,died,male,,1,0,Q\n"
                    "7,died,male,40,0,0,S\n"
                    "2nd,survived,female,30,0,1,X\n")
    assert run(["data", "ingest", str(path)]) == 0
    with open_store(workspace) as store:
        batch = store.batches("passengers")[0]
        assert (batch.received, batch.accepted, batch.rejected) == (4, 2, 2)
        quarantined = store.quarantined(batch.id)
    reasons = quarantined["reasons"].tolist()
    assert reasons == ["pclass must be 1st, 2nd or 3rd", "embarked must be C, Q or S"]
    assert quarantined["raw"].iloc[0]["pclass"] == "7"  # kept as received
    data = passenger_snapshot(workspace)
    assert data.passengers[["pclass", "survived", "embarked"]].values.tolist() == [
        ["1st", "survived", "S"], ["3rd", "died", "Q"]]
    assert data.tags()["batches"] == str(batch.id)


def test_the_offline_titanic_has_no_port_so_embarked_is_no_feature(workspace):
    data = passenger_snapshot(workspace)  # an empty store gets Titanic first
    assert len(data.passengers) == 1309 and "embarked" not in data.passengers.columns
    assert data.passengers["age"].isna().sum() == 263
