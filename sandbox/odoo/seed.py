"""Deterministic demo data: a Dutch and a Belgian legal entity, Dutch and Belgian companies with
valid VAT numbers and their contacts, individuals, products, and invoices in every payment state.

Names and addresses come from Faker (``nl_NL`` / ``nl_BE``) with a fixed seed, so the same
``rng_seed`` gives the same data and ids. Creation and modification dates are spread over the
past year, so incremental syncs on ``write_date`` have history to page through.
"""
from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from faker import Faker

from sandbox.odoo.access import SUPERUSER_ID, Env
from sandbox.odoo.posting import action_post
from sandbox.odoo.refdata import install_chart
from sandbox.odoo.vat import be_vat, nl_vat
from sandbox.odoo.writing import create, touch

if TYPE_CHECKING:
    from sandbox.odoo.state import OdooState

__all__ = ["seed"]

_PRODUCTS = [("Consultancy", "service", 125.0), ("Projectmanagement", "service", 140.0), ("Support", "service", 95.0),
             ("Training (dag)", "service", 950.0), ("Implementatie", "service", 110.0),
             ("Licentie CRM (maand)", "service", 49.0), ("Hosting (maand)", "service", 29.0),
             ("Laptop", "consu", 1249.0), ("Monitor 27 inch", "consu", 329.0), ("Docking station", "consu", 219.0),
             ("Headset", "consu", 89.0), ("Toetsenbord", "consu", 59.0), ("Kabelset", "consu", 19.5),
             ("Printerpapier A4", "consu", 6.95), ("Koffiebonen 1 kg", "consu", 18.5), ("Router", "consu", 179.0)]
_FUNCTIONS = ["Directeur", "Financieel manager", "Inkoper", "Boekhouder", "Office manager", "Projectleider"]


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", text)[:24] or "bedrijf"


class _Seeder:
    def __init__(self, state: OdooState, rng_seed: int) -> None:
        self.state = state
        self.rng = random.Random(rng_seed)
        self.fake = {"NL": Faker("nl_NL"), "BE": Faker("nl_BE")}
        for offset, fake in enumerate(self.fake.values()):
            fake.seed_instance(rng_seed + offset)
        self.counts: Counter[str] = Counter()
        self.reversed = 0  # the invoice credited in full (one per seed)
        self.country = {r["code"]: r["id"] for r in state.store.rows("res.country")}

    def make(self, env: Env, model: str, vals: dict[str, Any]) -> int:
        self.counts[model] += 1
        return create(env, model, [vals])[0]

    def past(self, max_days: int = 365) -> Any:
        return self.state.now() - timedelta(days=self.rng.uniform(1, max_days))

    def belgian_entity(self, env: Env) -> int:
        fake = self.fake["BE"]
        company = self.make(env, "res.company", {
            "name": "Tribe Sync België BV", "currency_id": 1, "country_id": self.country["BE"],
            "vat": be_vat(self.rng), "street": fake.street_address(), "zip": fake.postcode(), "city": fake.city(),
            "email": "info@tribe-sync.example.be", "phone": fake.phone_number()})
        install_chart(env, company, "BE")
        admin = env.store.get("res.users", 2)
        touch(env, "res.users", 2, {"company_ids": list(dict.fromkeys(admin["company_ids"] + [company]))})
        return company

    def partner(self, env: Env, index: int, be_company: int) -> int:
        code = "BE" if self.rng.random() < 0.3 else "NL"
        fake = self.fake[code]
        name = fake.company()
        domain = f"{_slug(name)}.{code.lower()}"
        owner = self.rng.random()
        vals = {"name": name, "is_company": True, "country_id": self.country[code],
                "vat": nl_vat(self.rng) if code == "NL" else be_vat(self.rng), "street": fake.street_address(),
                "zip": fake.postcode(), "city": fake.city(), "email": f"info@{domain}", "phone": fake.phone_number(),
                "website": f"https://www.{domain}", "ref": f"DEB{10000 + index}",
                "customer_rank": self.rng.choice([0, 1, 1, 2, 5]), "supplier_rank": self.rng.choice([0, 0, 0, 1]),
                "lang": "nl_NL" if code == "NL" else "nl_BE",
                "company_id": be_company if owner < 0.1 else 1 if owner < 0.15 else False,
                "active": self.rng.random() > 0.08}
        pid = self.make(env, "res.partner", vals)
        for _ in range(self.rng.choice([0, 1, 1, 2, 3])):
            first, last = fake.first_name(), fake.last_name()
            contact = {"name": f"{first} {last}", "parent_id": pid, "type": "contact", "function":
                       self.rng.choice(_FUNCTIONS), "email": f"{_slug(first)}.{_slug(last)}@{domain}",
                       "phone": fake.phone_number()}
            if "mobile" in env.registry["res.partner"].fields:
                contact["mobile"] = fake.phone_number()
            self.make(env, "res.partner", contact)
        if self.rng.random() < 0.25:
            self.make(env, "res.partner", {"parent_id": pid, "type": "invoice", "email": f"facturen@{domain}",
                                           "street": fake.street_address(), "zip": fake.postcode(),
                                           "city": fake.city(), "country_id": self.country[code]})
        return pid

    def individual(self, env: Env) -> int:
        fake = self.fake["NL"]
        first, last = fake.first_name(), fake.last_name()
        vals = {"name": f"{first} {last}", "is_company": False, "country_id": self.country["NL"],
                "street": fake.street_address(), "zip": fake.postcode(), "city": fake.city(),
                "email": f"{_slug(first)}.{_slug(last)}@example.nl", "phone": fake.phone_number(),
                "customer_rank": 1}
        if "mobile" in env.registry["res.partner"].fields:
            vals["mobile"] = fake.phone_number()
        return self.make(env, "res.partner", vals)

    def products(self, env: Env, count: int) -> list[int]:
        taxes = [t["id"] for t in env.store.rows("account.tax") if t["type_tax_use"] == "sale" and t["name"] == "21%"]
        buy = [t["id"] for t in env.store.rows("account.tax")
               if t["type_tax_use"] == "purchase" and t["name"] == "21%"]
        ids = []
        for i in range(count):
            name, kind, price = _PRODUCTS[i % len(_PRODUCTS)]
            if i >= len(_PRODUCTS):
                name = f"{name} {i // len(_PRODUCTS) + 1}"
            template = self.make(env, "product.template", {
                "name": name, "type": kind, "list_price": price, "default_code": f"P-{1001 + i}",
                "uom_id": 3 if kind == "service" else 1, "standard_price": round(price * 0.6, 2),
                "taxes_id": [(6, 0, taxes)], "supplier_taxes_id": [(6, 0, buy)], "active": self.rng.random() > 0.1})
            ids.append(next(r["id"] for r in env.store.rows("product.product") if r["product_tmpl_id"] == template))
        return ids

    def invoices(self, env: Env, count: int, customers: list[int], vendors: list[int], products: list[int]) -> None:
        first_day = self.state.now().date() - timedelta(days=120)
        days = sorted(self.rng.randrange(0, 118) for _ in range(count))
        for n, offset in enumerate(days):
            company = 1 if n % 3 else max(r["id"] for r in env.store.rows("res.company"))
            kind = "in_invoice" if n % 7 == 6 and vendors else "out_invoice"
            partner = self.rng.choice(vendors if kind == "in_invoice" else customers)
            scoped = env.with_context(allowed_company_ids=[company])
            lines = [(0, 0, {"product_id": self.rng.choice(products), "quantity": self.rng.choice([1, 2, 3, 8, 10])})
                     for _ in range(self.rng.choice([1, 2, 3]))]
            day = (first_day + timedelta(days=offset)).strftime("%Y-%m-%d")
            move = self.make(scoped, "account.move", {
                "move_type": kind, "partner_id": partner, "invoice_date": day, "invoice_line_ids": lines,
                "ref": f"SO{2000 + n}" if kind == "out_invoice" else f"F-{self.rng.randrange(10**5, 10**6)}"})
            fate = self.rng.random()
            if fate < 0.15:
                continue  # stays a draft
            action_post(_records(scoped, move))
            if fate < 0.45 and kind == "out_invoice" and not self.reversed:  # credited, re-issued as a draft
                self.reversed = self._reverse(scoped, move)
                continue
            if fate < 0.45:
                continue  # posted, not paid
            total = env.store.get("account.move", move)["amount_total"]
            if not total:
                continue
            amount = total if fate > 0.6 else round(total / 2, 2)
            payment = self._pay(scoped, move, amount, day)
            if fate > 0.75:
                from sandbox.odoo.payments import match_payment
                match_payment(scoped, payment)

    def _reverse(self, env: Env, move: int) -> int:
        from sandbox.odoo.reversal import modify_moves

        ctx = env.with_context(active_model="account.move", active_ids=[move])
        wizard = create(ctx, "account.move.reversal", [{"reason": "Verkeerde prijs"}])[0]
        modify_moves(_records(ctx, wizard, "account.move.reversal"))
        self.counts["account.move"] += 2  # the credit note and the corrected draft
        return move

    def _pay(self, env: Env, move: int, amount: float, day: str) -> int:
        from sandbox.odoo.payments import action_create_payments

        ctx = env.with_context(active_model="account.move", active_ids=[move], dont_redirect_to_payments=True)
        wizard = create(ctx, "account.payment.register", [{"amount": amount, "payment_date": day}])[0]
        action_create_payments(_records(ctx, wizard, "account.payment.register"))
        self.counts["account.payment"] += 1
        return max(r["id"] for r in env.store.rows("account.payment"))

    def backdate(self) -> None:
        for model in ("res.partner", "product.template", "product.product"):
            for row in self.state.store.rows(model):
                if row["id"] > 3:  # keep the company and admin partners as created
                    when = self.past()
                    self.state.store.update(model, row["id"], {"create_date": when, "write_date": when})


def _records(env: Env, rid: int, model: str = "account.move") -> Any:
    from sandbox.odoo.api import Records

    return Records(env, env.registry[model], [rid])


def seed(state: OdooState, *, companies: int = 40, individuals: int = 15, products: int = 16, invoices: int = 24,
         rng_seed: int = 1) -> dict[str, int]:
    """Fill the database; returns records created per model.

    Args:
        state: The server to fill (its reference data must be there, as after construction).
        companies: Customer/supplier companies (about 30% Belgian), each with 0–3 contacts.
        individuals: Private customers.
        products: Product templates (one variant each).
        invoices: Customer invoices and vendor bills across both legal entities.
        rng_seed: Seed for Faker and the random choices.
    """
    state.seed_args = {"companies": companies, "individuals": individuals, "products": products,
                       "invoices": invoices, "rng_seed": rng_seed}
    seeder = _Seeder(state, rng_seed)

    def work(env: Env) -> None:
        be_company = seeder.belgian_entity(env)
        partners = [seeder.partner(env, i, be_company) for i in range(companies)]
        people = [seeder.individual(env) for _ in range(individuals)]
        product_ids = seeder.products(env, products)
        rows = {p: env.store.get("res.partner", p) for p in partners}
        shared = [p for p in partners if rows[p].get("active") and not rows[p].get("company_id")]
        customers = [p for p in shared if rows[p].get("customer_rank")] + people
        vendors = [p for p in shared if rows[p].get("supplier_rank")]
        seeder.backdate()
        seeder.invoices(env, invoices, customers or people, vendors, product_ids)

    state.service.transaction(SUPERUSER_ID, "seed", True, work)
    return dict(seeder.counts)
