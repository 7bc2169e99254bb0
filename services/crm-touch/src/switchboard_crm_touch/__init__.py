"""CRM touches: caller identification, leads and one Touch per call."""
