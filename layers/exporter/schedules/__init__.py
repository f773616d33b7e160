"""Schedules: expressions, relative parameters, the schedule rows and their runs, firing."""
