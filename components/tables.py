"""Tables that turn into stacked rows on a phone (theme.CSS, `.sw-stack`): each row a block, each cell a line led
by its column's name, so no column is cut off or scrolled out of sight."""

from nicegui import ui

# A table's own cell slots carry this too, so their lines are named like the rest.
LABELLED = ':data-label="props.col.label"'


def stacked(table: ui.table) -> ui.table:
    """Name every plain cell by its column, for the stacked rows of a phone."""
    table.classes("sw-stack")
    table.add_slot("body-cell", f'<q-td :props="props" {LABELLED}>{{{{ props.value }}}}</q-td>')
    return table
