"""The AWS CDK app of the export service: one construct per concern, wired by ``stack.py``."""
