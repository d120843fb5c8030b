"""A messy Odoo partner book through ``odoo_to_tribe`` and ``tribe_to_odoo``, three times each,
alternating on the systems' clocks: every record ends where the corpus says, no Odoo partner
becomes two Tribe records, no Tribe organisation becomes two Odoo partners, a record the first
runs did not change is not rewritten, and after the first import and the first export nothing is
written any more (write requests counted at both simulators, and the runs' own load counts).

The corpus (``tests/fixtures/messy_odoo.py``) names the outcome of every role of every partner
and of every record born in Tribe. Every problem found is listed, not only the first.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox.tribe.reference import COUNTRIES, ref_id
from tests.fixtures.messy_odoo import NEW, PARTNERS, TRIBE_BORN, TRIBE_ORGS, TRIBE_PERSONS, Partner
from tests.integration.test_odoo_relations import Timeline
from tribe_operators.dedupe.keys import normal_key
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
IMPORTS = {"customers": "customer", "suppliers": "supplier", "persons": "person", "contacts": "contact"}
ROLE_SETS = {"customer": "Relationship_Organization_CommercialRelationship_Customer",
             "supplier": "Relationship_Organization_Supplier"}
NUMBER = {"customers": "DebtorNumber", "suppliers": "CreditorNumber", "persons": "DebtorNumber"}
TRIBE_WRITES = ("POST", "PUT", "PATCH", "DELETE")
ODOO_WRITES = {"create", "write", "unlink", "copy", "action_archive", "action_unarchive", "toggle_active"}
COUNTRY_CODE = {ref_id("Datastore_Country", code): code for code, _ in COUNTRIES}


def seed_odoo(odoo: Any) -> dict[str, int]:
    """The partner book, parents first; a VAT number Odoo would refuse comes in with base_vat off
    (imported from elsewhere). Returns the Odoo id of each partner by label."""
    countries = {odoo.read("res.country", rid)["code"]: rid for rid in odoo.search("res.country", [])}
    ids: dict[str, int] = {}
    for partner in PARTNERS:
        vals = {k: v for k, v in partner.vals.items() if k not in ("parent", "country", "vat_unchecked")}
        if "parent" in partner.vals:
            vals["parent_id"] = ids[partner.vals["parent"]]
        if "country" in partner.vals:
            vals["country_id"] = countries[partner.vals["country"]]
        odoo.check_vat = not partner.invalid_vat
        try:
            ids[partner.label] = odoo.insert("res.partner", vals)
        finally:
            odoo.check_vat = True
    return ids


def seed_tribe(tribe: Any) -> dict[str, str]:
    """Tribe's own records (with their relationships); returns the Tribe id of each by label."""
    ids: dict[str, str] = {}
    born = {r.label: (r.fields, r.roles) for r in TRIBE_BORN if r.kind != "contact"}
    for label, (fields, roles) in {**TRIBE_ORGS, **TRIBE_PERSONS, **born}.items():
        person = "LastName" in fields
        ids[label] = tribe.insert("Relation_Person" if person else "Relation_Organization", fields)["ID"]
        for role in roles:
            entity_set = "Relationship_Person_CommercialRelationship_Customer" if person else ROLE_SETS[role]
            tribe.insert(entity_set, {"Person" if person else "Organization": {"ID": ids[label]}})
    for record in (r for r in TRIBE_BORN if r.kind == "contact"):
        person = tribe.insert("Relation_Person", record.fields)["ID"]
        ids[record.label] = tribe.insert("Relationship_Person_Contact_Standard", {
            "Person": {"ID": person}, "Relation": {"ID": ids[record.of]}})["ID"]
    return ids


class Book:
    """What the link store and the quarantine say now."""

    def __init__(self, link_db: Any) -> None:
        self.links = LinkStore(link_db, "odoo")
        self.quarantine = {(q["stream"], q["record_id"]): q for q in Quarantine(link_db, "odoo").open()}

    def tribe_id(self, stream: str, odoo_id: int) -> str | None:
        return self.links.to_internal(IMPORTS[stream], str(odoo_id))

    def outcome(self, stream: str, odoo_id: int, seeded: dict[str, str]) -> tuple[str, ...]:
        tribe_id, entry = self.tribe_id(stream, odoo_id), self.quarantine.get((stream, str(odoo_id)))
        if tribe_id is not None and entry is not None:
            return ("linked and quarantined", tribe_id, entry["reason"])
        if tribe_id is not None:
            label = next((label for label, tid in seeded.items() if tid == tribe_id), None)
            return ("tribe", label) if label else ("new",)
        if entry is None:
            return ("out",)
        kind = "held" if (entry["action"] or {}).get("kind") in ("held", "number_match") else "bad"
        return (kind, entry["field"], entry["reason"])

    def odoo_ids(self, tribe_id: str, entities: tuple[str, ...] = ("customer", "supplier", "person", "contact")):
        return {e: int(x) for e in entities if (x := self.links.to_external(e, tribe_id)) is not None}


def matches(got: tuple[str, ...], want: tuple[str, ...]) -> bool:
    if got[0] != want[0] or got[0] in ("new", "tribe", "out"):
        return got == want
    return (got[1] or "") in want[1].split("|") and want[2] in got[2]


def import_outcomes(book: Book, ids: dict[str, int], seeded: dict[str, str]) -> dict[tuple[str, str], tuple]:
    """Every import stream of every partner: the ones it names and, as ``out``, the others."""
    return {(p.label, stream): book.outcome(stream, ids[p.label], seeded) for p in PARTNERS for stream in IMPORTS}


def check_import(tribe: Any, book: Book, ids: dict[str, int], seeded: dict[str, str]) -> list[str]:
    """Every partner's outcome in every import stream, and the fields of what landed."""
    wrong = []
    outcomes = import_outcomes(book, ids, seeded)
    for p in PARTNERS:
        for stream in IMPORTS:
            want, got = p.expect.get(stream, ("out",)), outcomes[(p.label, stream)]
            if not matches(got, want):
                wrong.append(f"partner {p.label} ({p.vals.get('name')!r}) {stream}: expected {want}, got {got}")
        kinds = {s: outcomes[(p.label, s)][0] for s in p.expect}
        if "held" in kinds.values() and set(kinds.values()) != {"held"}:
            wrong.append(f"partner {p.label} is held in some roles only: {kinds}")
        if any(o[0] in ("new", "tribe") for o in p.expect.values()):
            wrong += check_landed(tribe, book, p, ids, seeded)
    return wrong + check_one_each(tribe, book, ids)


def check_one_each(tribe: Any, book: Book, ids: dict[str, int]) -> list[str]:
    """No partner is two Tribe records, no Tribe record two partners, no import reference twice."""
    wrong, owners = [], {}
    for p in PARTNERS:
        bound = {book.tribe_id(s, ids[p.label]) for s in IMPORTS} - {None}
        if len(bound) > 1:
            wrong.append(f"partner {p.label} ({p.vals.get('name')!r}) became {len(bound)} Tribe records: "
                         f"{sorted(bound)}")
        for tid in bound:
            owners.setdefault(tid, set()).add(p.label)
    wrong += [f"Tribe record {tid} is bound to partners {sorted(o)}" for tid, o in owners.items() if len(o) > 1]
    import_ids = Counter(r["ImportId"] for s in ("Relation_Organization", "Relation_Person",
                                                 "Relationship_Person_Contact_Standard")
                         for r in tribe.all(s) if r.get("ImportId"))
    return wrong + [f"ImportId {i} is on {n} Tribe records" for i, n in import_ids.items() if n > 1]


def check_landed(tribe: Any, book: Book, p: Partner, ids: dict[str, int], seeded: dict[str, str]) -> list[str]:
    """The fields of a partner that landed, as the corpus's ``lands`` and the partner say."""
    streams = [s for s, o in p.expect.items() if o[0] in ("new", "tribe")]
    tid = book.tribe_id(streams[0], ids[p.label])
    if tid is None:
        return []
    where, wrong = f"partner {p.label} ({p.vals.get('name')!r})", []
    if streams[0] == "contacts":
        rel = tribe.get("Relationship_Person_Contact_Standard", tid)
        record = {**tribe.get("Relation_Person", rel["Person"]), **rel}
        parent = PARTNERS[[q.label for q in PARTNERS].index(p.vals["parent"])]
        org = next((x for s in parent.expect if (x := book.tribe_id(s, ids[parent.label]))), None)
        if rel["Relation"] != org:
            wrong.append(f"{where}: contact of Tribe record {rel['Relation']}, not of its company's {org}")
    else:
        record = tribe.get("Relation_Person" if streams[0] == "persons" else "Relation_Organization", tid)
        new = all(p.expect[s] == ("new",) for s in streams)
        if new and streams[0] != "persons" and record["Name"] != p.vals["name"]:
            wrong.append(f"{where}: Name {record['Name']!r}, expected {p.vals['name']!r}")
        for stream in streams:
            if normal_key(record.get(NUMBER[stream])) != normal_key(p.vals.get("ref")):
                wrong.append(f"{where}: {NUMBER[stream]} {record.get(NUMBER[stream])!r}, "
                             f"expected ref {p.vals['ref']!r}")
        sets = ({"customer": "Relationship_Person_CommercialRelationship_Customer"} if streams[0] == "persons"
                else ROLE_SETS)
        for role, entity_set in sets.items():
            found = [r for r in tribe.all(entity_set) if tid in (r.get("Organization"), r.get("Person"))]
            wanted = 1 if f"{role}s" in streams or streams == ["persons"] else 0 if new else len(found)
            if len(found) != wanted:
                wrong.append(f"{where}: {len(found)} {role} relationships on {tid}, expected {wanted}")
            if "former" in p.lands and any(bool(r.get("IsFormer")) != p.lands["former"] for r in found):
                wrong.append(f"{where}: {role} IsFormer {[r.get('IsFormer') for r in found]}, "
                             f"expected {p.lands['former']}")
    for key, want in p.lands.items():
        if key == "former":
            continue
        if key in ("InvoiceAddress", "Address"):
            address = tribe.get("Address", record[key]) if record.get(key) else {}
            got = {k: (COUNTRY_CODE.get(address.get(k)) if k == "Country" else address.get(k)) for k in want}
            if got != want:
                wrong.append(f"{where}: {key} {got}, expected {want}")
        elif key in ("DebtorNumber", "CreditorNumber"):
            if normal_key(record.get(key)) != normal_key(want):
                wrong.append(f"{where}: {key} {record.get(key)!r}, expected {want!r}")
        elif (record.get(key) or None) != want and not (key == "IsFormer" and not want and not record.get(key)):
            wrong.append(f"{where}: {key} {record.get(key)!r}, expected {want!r}")
    return wrong


def check_held_untouched(tribe: Any, book: Book, seeded: dict[str, str]) -> list[str]:
    """A seeded record whose partner is held is as it was and bound to nothing; one a partner
    matched is bound to that partner only."""
    wrong = []
    matched = {o[1] for p in PARTNERS for o in p.expect.values() if o[0] == "tribe"}
    for label, (fields, _) in {**TRIBE_ORGS, **TRIBE_PERSONS}.items():
        bound = book.odoo_ids(seeded[label])
        if len(set(bound.values())) > 1:
            wrong.append(f"Tribe record {label} is bound to Odoo partners {bound}")
        if label in matched:
            continue
        if bound:
            wrong.append(f"Tribe record {label}, whose partner is held, is bound to Odoo partner(s) {bound}")
        record = tribe.get("Relation_Person" if "LastName" in fields else "Relation_Organization", seeded[label])
        for key, value in fields.items():
            number = key.endswith("Number")
            if (normal_key(record.get(key)) != normal_key(value)) if number else record.get(key) != value:
                wrong.append(f"Tribe record {label} held back was changed: {key} {record.get(key)!r}, was {value!r}")
    return wrong


def check_export(odoo: Any, book: Book, seeded: dict[str, str]) -> list[str]:
    """Every record born in Tribe: one Odoo partner with its roles and fields, or none."""
    wrong = []
    held = {record_id: q for (stream, record_id), q in book.quarantine.items() if stream.startswith("tribe_")}
    names = Counter(odoo.read("res.partner", rid)["name"] for rid in odoo.search("res.partner", [], active_test=False))
    entities = {"contact": ("contact",), "person": ("person",), "org": ("customer", "supplier")}
    for r in TRIBE_BORN:
        tid = seeded[r.label]
        name = r.fields.get("Name") or " ".join(filter(None, (r.fields.get(k) for k in ("FirstName", "MiddleName",
                                                                                         "LastName"))))
        where, entry = f"Tribe {r.kind} {r.label} ({name!r})", held.get(tid)
        bound = book.odoo_ids(tid, entities[r.kind])
        partners = set(bound.values())
        got = entry and (entry["field"], entry["reason"])
        if r.expect[0] != "new":
            if partners or (r.expect[0] == "out" and entry):
                wrong.append(f"{where}: expected {r.expect}, got partners {bound}, quarantined as {got}")
            if r.expect[0] == "bad" and not (got and got[0] in r.expect[1].split("|") and r.expect[2] in got[1]):
                wrong.append(f"{where}: expected {r.expect}, quarantined as {got}")
            if names[name]:
                wrong.append(f"{where}: expected {r.expect}, but Odoo holds {names[name]} partner(s) named {name!r}")
            continue
        if len(partners) != 1 or entry:
            wrong.append(f"{where}: expected one Odoo partner, got {bound}, quarantined as {got}")
            continue
        partner = odoo.read("res.partner", partners.pop())
        if names[name] != 1:
            wrong.append(f"{where}: Odoo holds {names[name]} partners named {name!r}")
        roles = {"customer": partner["customer_rank"] > 0, "supplier": partner["supplier_rank"] > 0}
        if r.kind != "contact" and roles != {role: role in r.roles for role in roles}:
            wrong.append(f"{where} (roles {r.roles}): partner {partner['id']} customer_rank "
                         f"{partner['customer_rank']}, supplier_rank {partner['supplier_rank']}")
        if r.kind == "contact":
            parent = book.odoo_ids(seeded[r.of], ("customer", "supplier"))
            if partner["type"] != "contact" or partner["parent_id"] not in parent.values():
                wrong.append(f"{where}: partner {partner['id']} type {partner['type']!r} under "
                             f"{partner['parent_id']}, expected a contact under {parent}")
        for key, want in r.partner.items():
            value = partner.get(key)
            if key == "country":
                value = odoo.read("res.country", partner["country_id"])["code"] if partner.get("country_id") else None
            if value not in (want if isinstance(want, tuple) else (want,)):
                wrong.append(f"{where}: Odoo partner {partner['id']} {key} {value!r}, expected {want!r}")
    return wrong


def writes(sims: Any) -> dict[str, int]:
    tribe = {c: n for c, n in sims.tribe.counters()["calls"].items()
             if c.startswith(TRIBE_WRITES) and "oauth2" not in c}
    odoo = {c: n for c, n in sims.odoo.counters()["calls"].items() if c.rsplit(".", 1)[-1] in ODOO_WRITES}
    return {**{f"tribe {c}": n for c, n in tribe.items()}, **{f"odoo {c}": n for c, n in odoo.items()}}


def step(sims: Any, clock: Timeline, dag: Any) -> tuple[Any, dict[str, int]]:
    sims.tribe.reset_counters()
    sims.odoo.reset_counters()
    dagrun = clock.run(dag)
    return dagrun, writes(sims)


def loaded(link_db: Any, dagrun: Any) -> dict[str, dict[str, int]]:
    counts = {r["stream"]: {k: r["counts"][k] for k in ("created", "updated") if r["counts"].get(k)}
              for r in run_counts(link_db, dagrun.run_id) if r["step"] == "load"}
    return {stream: n for stream, n in counts.items() if n}


def snapshot(sims: Any) -> tuple[dict[str, dict[str, Any]], dict[int, Any]]:
    """Tribe's organisations and persons, and when each Odoo partner was last written."""
    tribe = {r["ID"]: r for s in ("Relation_Organization", "Relation_Person") for r in sims.tribe.all(s)}
    odoo = {rid: sims.odoo.read("res.partner", rid, ["write_date"])["write_date"]
            for rid in sims.odoo.search("res.partner", [], active_test=False)}
    return tribe, odoo


def rewritten(sims: Any, before: tuple[dict[str, dict[str, Any]], dict[int, Any]], names: dict[str, str]) -> list[str]:
    """What a run wrote to records that were there before it: an Odoo partner written at all; a
    Tribe record written without changing anything but its stamp."""
    tribe, odoo = snapshot(sims)
    wrong = [f"Odoo partner {rid} ({names.get(str(rid), '?')}) was written (write_date {when} → {odoo[rid]})"
             for rid, when in before[1].items() if odoo.get(rid) != when]
    for tid, old in before[0].items():
        new = tribe.get(tid, {})
        if {k for k in new if new.get(k) != old.get(k)} == {"LastMutationDate"}:
            wrong.append(f"Tribe record {names.get(tid, tid)} was rewritten with nothing changed (a PUT that moved "
                         "only LastMutationDate): a wasted write, and in Tribe a webhook that starts another export")
    return wrong


def check_one_partner_each(tribe: Any, book: Book, names: dict[str, str]) -> list[str]:
    """No Tribe organisation is two Odoo partners, no Odoo partner two Tribe organisations."""
    wrong, owners = [], {}
    for tid in (r["ID"] for r in tribe.all("Relation_Organization")):
        bound = set(book.odoo_ids(tid, ("customer", "supplier")).values())
        if len(bound) > 1:
            wrong.append(f"Tribe organisation {names.get(tid, tid)} became {len(bound)} Odoo partners: {sorted(bound)}")
        for odoo_id in bound:
            owners.setdefault(odoo_id, set()).add(names.get(tid, tid))
    return wrong + [f"Odoo partner {o} ({names.get(str(o), '?')}) is bound to Tribe organisations {sorted(t)}"
                    for o, t in owners.items() if len(t) > 1]


def test_messy_odoo_book_lands_once_each_way_and_later_runs_write_nothing(nightly, export, odoo_sims, link_db):
    sims, clock = odoo_sims, Timeline(odoo_sims)
    ids, seeded = seed_odoo(sims.odoo), seed_tribe(sims.tribe)
    names = {**{tid: label for label, tid in seeded.items()}, **{str(rid): label for label, rid in ids.items()}}
    count = {s: len(sims.tribe.all(s)) for s in ("Relation_Organization", "Relation_Person")}
    partners = len(sims.odoo.search("res.partner", [], active_test=False))
    wrong: list[str] = []

    # 1. The nightly import: Odoo's book into Tribe, nothing written to Odoo.
    before = snapshot(sims)
    _, wrote = step(sims, clock, nightly)
    wrong += [f"import 1: {w}" for w in rewritten(sims, before, names)]
    wrong += [f"import 1 wrote to Odoo: {k} ×{n}" for k, n in wrote.items() if k.startswith("odoo")]
    book = Book(link_db)
    wrong += check_import(sims.tribe, book, ids, seeded)
    new = Counter()  # one organisation per new company whatever its roles, one person per individual or contact
    for p in PARTNERS:
        landed = {s for s, o in p.expect.items() if o == NEW}
        new.update(["Relation_Organization"] * bool(landed & {"customers", "suppliers"})
                   + ["Relation_Person"] * bool(landed & {"persons", "contacts"}))
    now = {s: len(sims.tribe.all(s)) for s in count}
    if now != {s: n + new[s] for s, n in count.items()}:
        wrong.append(f"Tribe went from {count} to {now}; expected {dict(new)} more")
    first = import_outcomes(book, ids, seeded)
    names |= {tid: label for (label, stream), _ in first.items() if (tid := book.tribe_id(stream, ids[label]))}

    # 2. The export: Tribe's own records into Odoo, once each; nothing the import wrote goes back.
    before = snapshot(sims)
    _, wrote = step(sims, clock, export)
    book = Book(link_db)
    wrong += check_export(sims.odoo, book, seeded)
    wrong += [f"export 1: {w}" for w in rewritten(sims, before, names)]
    born = sum(r.expect == NEW for r in TRIBE_BORN)
    if wrote.get("odoo res.partner.create", 0) != born:
        wrong.append(f"export 1 created {wrote.get('odoo res.partner.create', 0)} Odoo partners, expected {born} "
                     f"(one per Tribe-born record); all its writes: {wrote}")
    if (now := len(sims.odoo.search("res.partner", [], active_test=False))) != partners + born:
        wrong.append(f"Odoo went from {partners} to {now} partners; expected {born} more")

    # 3. Two more rounds each way: nothing to write, every record stays where it is.
    for n, dag in enumerate((nightly, export, nightly, export), start=3):
        dagrun, wrote = step(sims, clock, dag)
        if wrote or loaded(link_db, dagrun):
            wrong.append(f"run {n} ({dag.dag_id}) wrote {wrote}; load counts {loaded(link_db, dagrun)}")
    book = Book(link_db)
    wrong += [f"partner {label} {stream} moved from {first[(label, stream)]} to {got} in a later run"
              for (label, stream), got in import_outcomes(book, ids, seeded).items()
              if got[:2] != first[(label, stream)][:2]]
    wrong += check_one_each(sims.tribe, book, ids) + check_held_untouched(sims.tribe, book, seeded)
    wrong += check_one_partner_each(sims.tribe, book, names)
    if (now := len(sims.odoo.search("res.partner", [], active_test=False))) != partners + born:
        wrong.append(f"after the later runs Odoo holds {now} partners, expected {partners + born}")
    assert not wrong, f"{len(wrong)} problem(s):\n" + "\n".join(wrong)
