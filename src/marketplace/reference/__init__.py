"""Reference data: standards, IAF sectors, accreditation bodies and support services (loaded from seed/)."""
