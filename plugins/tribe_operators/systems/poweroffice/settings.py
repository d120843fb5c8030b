"""PowerOffice's settings keys, on top of the core's (``settings.yaml``, the settings Variable)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from tribe_operators.mapping.settings import CoreSettings

__all__ = ["PowerOfficeSettings"]


class PowerOfficeSettings(CoreSettings):
    invoice_mode: Literal["draft", "booked"] = "draft"  # a sales order left as draft, or booked and sent
    # How a booked invoice is sent (SendInvoiceRequestPostDto.DeliveryType of the OpenAPI file).
    invoice_delivery_type: Literal["PdfByEmail", "PdfPrintForDownload", "Auto"] = "PdfByEmail"
    default_ledger_account: int | None = Field(3000, ge=1000, le=9999)  # where a product without VAT group books
    unit_map: dict[str, str] = Field(default_factory=dict)  # Tribe unit code → PowerOffice unit code
    vat_map: dict[str, str] = Field(default_factory=dict)  # Tribe VAT group code → PowerOffice VAT code

    @field_validator("invoice_mode", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value  # "Booked" is booked

    @field_validator("vat_map", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else value
