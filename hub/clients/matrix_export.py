"""The responsibilities matrix, as filtered on the admin's screen, as an Excel workbook:
one row per client, one column per person, each cell the roles held."""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from hub.clients.matrix import Holding, Matrix
from hub.timeutil import in_firm_zone

TEXTS = {
    "fi": {"sheet": "Vastuut", "client": "Asiakas", "number": "Asiakasnumero",
           "group": "Asiakasryhmä", "from": "alkaen"},
    "en": {"sheet": "Responsibilities", "client": "Client", "number": "Customer number",
           "group": "Client group", "from": "from"},
}


def _cell(held: list[Holding], role_names: Mapping[str, str], starting: str) -> str:
    shown = []
    for holding in held:
        name = role_names.get(holding.role, holding.role)
        begins = in_firm_zone(holding.valid_from)
        shown.append(f"{name} ({starting} {begins:%d.%m.%Y})" if begins else name)
    return ", ".join(shown)


def matrix_workbook(matrix: Matrix, role_names: Mapping[str, str], language: str = "fi") -> bytes:
    """``matrix`` (every row of it: build it with ``limit=None``) as .xlsx bytes; roles by
    their names in ``role_names`` (key -> name in ``language``)."""
    texts = TEXTS.get(language, TEXTS["en"])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = texts["sheet"]
    sheet.append([texts["client"], texts["number"], texts["group"],
                  *(person.name for person in matrix.staff)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in matrix.rows:
        sheet.append([row.client_name, row.customer_number, row.group_name or "",
                      *(_cell(row.cells.get(person.id, []), role_names, texts["from"])
                        for person in matrix.staff)])
    for index, width in enumerate((34, 14, 18), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for index in range(4, 4 + len(matrix.staff)):
        sheet.column_dimensions[get_column_letter(index)].width = 20
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
