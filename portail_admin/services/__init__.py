"""Domain operations. Services take the acting agent as an argument, flush, and let the caller commit."""


class ServiceError(Exception):
    """A refused operation; the message is French and meant for the user."""
