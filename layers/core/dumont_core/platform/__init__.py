"""What every domain stands on: settings, errors, the table, AWS clients, events, workflows, logging."""
