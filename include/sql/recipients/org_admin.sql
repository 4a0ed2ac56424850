-- Who may receive an org's files by e-mail: the org's admins (org_users, role admin).
-- One row, the address as stored, when :email (trimmed, lower-cased by the caller) is
-- the e-mail of an admin of :org_id; none for an unknown address, a volunteer or another
-- org's admin, so every refusal reads the same.
-- Bound parameters: :org_id, :email.
SELECT u.email
FROM org_users AS u
WHERE u.org_id = :org_id
  AND u.role = 'admin'
  AND LOWER(TRIM(u.email)) = :email
ORDER BY u.id
LIMIT 1
