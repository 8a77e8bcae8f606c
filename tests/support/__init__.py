"""What tests share: the fake clock, the provider server, the CLI runners, a real tray process.

Fixtures are defined here and registered in tests/conftest.py; helpers are imported by name.
"""
