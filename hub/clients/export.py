"""The responsible-persons list (Vastuuhenkilöt) as an Excel workbook, as firms keep it."""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hub.clients.schemas import ResponsibilityOut
from hub.timeutil import in_firm_zone

HEADERS = {
    "fi": ["Asiakas", "Asiakasryhmä", "Henkilö", "Sähköposti", "Rooli", "Alkaa", "Päättyy"],
    "en": ["Client", "Client group", "Person", "Email", "Role", "From", "Until"],
}


def responsibilities_workbook(
    rows: Iterable[ResponsibilityOut], group_names: dict[int, str], language: str = "fi"
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Vastuuhenkilöt" if language == "fi" else "Responsible persons"
    sheet.append(HEADERS.get(language, HEADERS["en"]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        start, end = in_firm_zone(row.valid_from), in_firm_zone(row.valid_until)
        sheet.append([
            row.client_name,
            group_names.get(row.client_group_id, "") if row.client_group_id else "",
            row.user_name,
            row.user_email,
            row.role,
            start.replace(tzinfo=None) if start else None,  # Excel has no time zones
            end.replace(tzinfo=None) if end else None,
        ])
    for index, width in enumerate((34, 18, 24, 34, 20, 18, 18), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
