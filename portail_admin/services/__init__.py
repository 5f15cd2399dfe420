"""Domain operations. Services take the acting agent as an argument, flush, and let the caller commit."""


class ServiceError(Exception):
    """A refused operation; the message is French and meant for the user."""


def appliquer(obj, values: dict) -> dict:
    """Apply values to obj; return {field: [before, after]} for the fields that changed."""
    changes = {}
    for field, value in values.items():
        before = getattr(obj, field)
        if before != value:
            changes[field] = [before, value]
            setattr(obj, field, value)
    return changes
