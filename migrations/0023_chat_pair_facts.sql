-- A Conversation object's pair facts (src/services/chat/send.ts, loadPairFacts) as one function
-- call, for two reasons:
--
-- - Cost per load. The query has five subqueries; sent as a statement it was parsed and planned on
--   every load, which cost PostgreSQL more than running it. Inside PL/pgSQL each statement's plan
--   is prepared once per backend and reused.
-- - Cost growing with the conversation. Written as one query correlated on the member row, "has
--   this member written visibly?" could be planned as a hashed subplan that reads every message
--   of the conversation to answer it (seen when the table's statistics lagged behind it), so a
--   long conversation paid on every load, every few seconds while busy. Asked once per member with
--   the member's id as a constant, it is an index probe on messages_client_id_key (member_a,
--   member_b, sender_id, …) that stops at the first row.

-- Whether `p_sender`'s writing in this conversation was seen: a message not hidden from the other
-- member, or no hidden one either (nothing written yet counts as seen).
CREATE FUNCTION chat_sender_seen(p_member_a uuid, p_member_b uuid, p_sender uuid)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM messages g WHERE g.member_a = p_member_a AND g.member_b = p_member_b
      AND g.sender_id = p_sender AND NOT g.hidden_from_recipient)
    OR NOT EXISTS (SELECT 1 FROM messages g WHERE g.member_a = p_member_a AND g.member_b = p_member_b
      AND g.sender_id = p_sender AND g.hidden_from_recipient);
END $$;

-- One row per member of the pair who exists: their standing (live, verification, shadow ban),
-- whether they have written to the other member (`messaged`), whether that writing was seen
-- (`visible_or_none`), and whether either member skipped the other (`skipped`, the same on both
-- rows). The pair comes in the order its messages are stored under (member_a, member_b).
CREATE FUNCTION chat_pair_facts(p_member_a uuid, p_member_b uuid)
RETURNS TABLE (
  id uuid, role text, tier_id uuid, live boolean, created_ms double precision, level text,
  verification_required boolean, shadow_banned boolean, messaged boolean, visible_or_none boolean,
  skipped boolean
) LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_seen_a boolean := chat_sender_seen(p_member_a, p_member_b, p_member_a);
  v_seen_b boolean := chat_sender_seen(p_member_a, p_member_b, p_member_b);
BEGIN
  RETURN QUERY
  SELECT u.id, u.role::text, u.tier_id,
    (u.status = 'active' AND u.deleted_at IS NULL AND p.onboarded_at IS NOT NULL),
    (extract(epoch FROM u.created_at) * 1000)::float8,
    coalesce(p.verification_level::text, 'none'),
    coalesce(p.verification_required, false),
    (p.shadow_banned_at IS NOT NULL),
    EXISTS (SELECT 1 FROM messaged m WHERE m.subject_id = u.id
      AND m.object_id = CASE WHEN u.id = p_member_a THEN p_member_b ELSE p_member_a END),
    CASE WHEN u.id = p_member_a THEN v_seen_a ELSE v_seen_b END,
    EXISTS (SELECT 1 FROM skips k WHERE (k.subject_id = p_member_a AND k.object_id = p_member_b)
      OR (k.subject_id = p_member_b AND k.object_id = p_member_a))
  FROM users u LEFT JOIN profiles p ON p.user_id = u.id
  WHERE u.id IN (p_member_a, p_member_b);
END $$;
