"""What differs between the Odoo series the simulator plays (17.0, 18.0, 19.0).

Each switch names the change and where the reference places it; ``[INFER]`` marks the ones it
could not pin to a release.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SUPPORTED_VERSIONS", "VersionProfile", "profile"]

SUPPORTED_VERSIONS = (17, 18, 19)


@dataclass(frozen=True)
class VersionProfile:
    """One server series; ``profile(18)`` builds it."""

    major: int

    # ---- what ``common.version()`` and ``/web/webclient/version_info`` say ------------------
    @property
    def server_version(self) -> str:
        return f"{self.major}.0"

    @property
    def version_info(self) -> list:
        return [self.major, 0, 0, "final", 0, ""]

    # ---- protocols ---------------------------------------------------------------------------
    @property
    def json2(self) -> bool:
        """``/json/2/<model>/<method>`` exists from 19.0 (saas-18.4 on Odoo Online)."""
        return self.major >= 19

    @property
    def rpc_deprecated(self) -> bool:
        """19.0 logs a deprecation warning on every XML-RPC / JSON-RPC call (they still work)."""
        return self.major >= 19

    @property
    def jsonrpc_error_code(self) -> int:
        """``error.code`` of a JSON-RPC server error: 200 in 16/17-era code, 0 in 19-era code.
        18.0 is not pinned by the reference: [INFER] still 200."""
        return 0 if self.major >= 19 else 200

    @property
    def access_denied_is_user_error(self) -> bool:
        """In 19 AccessDenied subclasses UserError (so it carries http_status 403)."""
        return self.major >= 19

    # ---- ORM / API ---------------------------------------------------------------------------
    @property
    def name_get(self) -> bool:
        """``name_get`` deprecated in 16.4, removed in 17.3: 17.0 still answers it."""
        return self.major <= 17

    @property
    def name_search_domain_arg(self) -> str:
        """``name_search(name, args, ...)`` in 17 and 18 (18-era odoo/models.py still says
        ``args=None``), renamed ``domain`` in 19 (19-era odoo/orm/models.py)."""
        return "args" if self.major <= 18 else "domain"

    @property
    def default_get_arg(self) -> str:
        """``default_get(fields_list)`` in 17 and 18, ``default_get(fields)`` in 19 (19-era
        odoo/orm/models.py): the name JSON-2 binds by."""
        return "fields_list" if self.major <= 18 else "fields"

    @property
    def api_doc(self) -> bool:
        """The ``api_doc`` module (``/doc-bearer/<model>.json``) ships with JSON-2 in 19
        (auto_install, depends on ``web``)."""
        return self.json2

    # ---- business fields ---------------------------------------------------------------------
    @property
    def partner_mobile(self) -> bool:
        """``res.partner.mobile`` removed in saas-18.2: present in 17/18, absent in 19."""
        return self.major <= 18

    @property
    def account_company_ids(self) -> bool:
        """``account.account.company_id`` (M2O, 17) became ``company_ids`` (M2M) in 18."""
        return self.major >= 18

    @property
    def account_active(self) -> bool:
        """[INFER] ``account.account.deprecated`` replaced by ``active`` in 19-era code."""
        return self.major >= 19

    @property
    def product_detailed_type(self) -> bool:
        """17 has ``detailed_type``; 18+ ``type`` in consu/service/combo (no detailed_type)."""
        return self.major <= 17

    @property
    def uom_category(self) -> bool:
        """``uom.category`` removed in 19 (``relative_factor``/``relative_uom_id`` instead)."""
        return self.major <= 18

    @property
    def tax_price_include_override(self) -> bool:
        """18 "Pricepocalypse": ``price_include`` computed, ``price_include_override`` per tax."""
        return self.major >= 18

    @property
    def payment_rework(self) -> bool:
        """18 reworked account.payment: states draft/in_process/paid/canceled/rejected, ``memo``."""
        return self.major >= 18

    def missing_method(self, model: str, method: str) -> str:
        """The AttributeError text for a method the model does not have."""
        if self.major <= 17:
            return f"The method '{method}' does not exist on the model '{model}'"  # [INFER] 17 api.call_kw
        return f"The method '{model}.{method}' does not exist"

    def private_method(self, model: str, method: str) -> str:
        if self.major <= 17:
            return f"Private methods (such as {method}) cannot be called remotely."
        return f"Private methods (such as '{model}.{method}') cannot be called remotely."

    def invalid_leaf_field(self, model: str, field: str, leaf: object) -> str:
        if self.major >= 19:
            return f"Invalid field {model}.{field} in condition {leaf!r}"  # [INFER] 19 Domain text
        return f"Invalid field {model}.{field} in leaf {leaf!r}"


def profile(version: int | str) -> VersionProfile:
    """``profile(17)``, ``profile("18.0")``; ValueError for a series the simulator does not play."""
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        major = -1
    if major not in SUPPORTED_VERSIONS:
        raise ValueError(f"Odoo version {version!r} is not simulated; choose one of {SUPPORTED_VERSIONS}")
    return VersionProfile(major)
