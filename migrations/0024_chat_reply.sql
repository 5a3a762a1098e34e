-- A reply written in the same round trip that reloads the pair's facts (src/services/chat/send.ts,
-- replyIfAllowed). A Conversation object trusts its facts for a few seconds; a message that comes
-- after a longer pause, the usual pace of a chat, found them expired and waited for a load before
-- its write: two round trips to the database, one after the other. This function loads the facts,
-- and when they make the message a plain reply (both members live and not skipped, the sender
-- allowed to chat and both members having written to each other visibly, or the sender
-- shadow-banned) writes it as chat_write_message does, hidden when the sender is shadow-banned.
-- Either way it returns the facts as loaded, so the object decides everything else (refusals,
-- intros, first messages) on them without asking again. A reused client id fails the whole call
-- (messages_client_id_key), as a write does.
CREATE FUNCTION chat_reply(
  p_member_a uuid, p_member_b uuid, p_sender uuid, p_client_id text, p_body text, p_audio_key text,
  p_now timestamptz,
  OUT out_facts jsonb, OUT out_seq bigint, OUT out_box text, OUT out_unread integer
) LANGUAGE plpgsql AS $$
DECLARE
  v_recipient uuid := CASE WHEN p_sender = p_member_a THEN p_member_b ELSE p_member_a END;
  v_sender_ok boolean;
  v_recipient_ok boolean;
  v_skipped boolean;
  v_hidden boolean;
BEGIN
  SELECT coalesce(jsonb_agg(to_jsonb(f)), '[]'::jsonb),
    coalesce(bool_or(f.id = p_sender AND f.live
      AND NOT (f.verification_required AND f.level = 'none')
      AND f.messaged AND (f.visible_or_none OR f.shadow_banned)), false),
    coalesce(bool_or(f.id = v_recipient AND f.live AND f.messaged AND f.visible_or_none), false),
    coalesce(bool_or(f.skipped), false),
    coalesce(bool_or(f.id = p_sender AND f.shadow_banned), false)
  INTO out_facts, v_sender_ok, v_recipient_ok, v_skipped, v_hidden
  FROM chat_pair_facts(p_member_a, p_member_b) f;

  IF v_sender_ok AND v_recipient_ok AND NOT v_skipped THEN
    SELECT w.out_seq, w.out_box, w.out_unread INTO out_seq, out_box, out_unread
    FROM chat_write_message(p_member_a, p_member_b, p_sender, v_recipient, p_client_id, p_body,
      p_audio_key, false, v_hidden, p_now, false) AS w;
  END IF;
END $$;
