"""Supporting documents: files an applicant adds on the web, checked, cleaned and sealed.

upload (multipart, kept in memory) ─▶ checks.inspect: the type by its bytes, images
re-encoded without metadata, PDFs and Office files opened and refused when active
─▶ sealed to the registry's key at once ─▶ kept with the draft (store) ─▶ listed in the
payload (version 2) ─▶ each file uploaded by tus before the envelope (docs/registry-api.md)
"""
