"""Booking: clinics, practitioners, clients and appointments, booked by several call centers."""
