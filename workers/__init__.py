"""Background work (Celery): scheduled syncs and folder enforcement. Tasks take ids and
call hub services; they hold no SQL of their own."""
