"""The drctl emulated AWS estate: moto's server extended with timing, faults and a request log."""
