"""The party sync's flows, side by side on the sync core and the pure rules; none imports another:

- `create`: a record without betnr — adoption search, create intent recovery, POST.
- `update`: a record with betnr — update/check, initial sync, Advoware 404.
- `delete`: the EspoCRM record is gone (confirmed by a 404).
- `unlink`: the operator clears a party's link (after `deleted_in_advoware`).
"""
