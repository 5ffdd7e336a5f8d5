"""Services: one module per subject, one function per use case, keyword-only arguments, one
transaction each. Import the module you need (``from fitsflow.services import gates``):
a command that needs one service loads only that one and what it imports."""
