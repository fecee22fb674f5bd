"""The project file: schema (pydantic models), loading with locations, resolving into job specs."""
