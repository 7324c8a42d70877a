"""Grades into a learning-management system: Canvas and Moodle CSV files.

``matching`` (pure) pairs our people with a Canvas export's rows; ``files`` reads the
Canvas export and the roster (effects); ``export`` is the library call behind
``grader export`` (front); the files written are rendered by ``grader.render.lms``.
"""
