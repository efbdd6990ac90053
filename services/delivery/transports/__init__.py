"""The engine's transports: ``webhook`` (signed HTTP posts to endpoints) and ``smtp`` (e-mail,
over SMTP or into ``.eml`` files)."""
