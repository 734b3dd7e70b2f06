"""The provider back office: ranked waiting lists, offers, refusals and free places."""
