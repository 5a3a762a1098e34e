-- Group commit for chat (durable-objects/conversation.ts, src/services/chat/send.ts writeMessages):
-- messages of one conversation that queued while the previous write was in flight are stored by
-- one call of this function, so one statement, one transaction, one round trip and one commit for
-- all of them. They are written in the order given, each exactly as chat_write_message writes a
-- message (sequence number, row, both inbox entries), so sequence numbers follow that order and a
-- failure anywhere (a reused client id, say) stores none of them and takes every increment back.
-- Only messages that are neither intros nor a sender's first message to this member come here:
-- those need the intro checks and the `messaged` relation, and are written one at a time.
CREATE FUNCTION chat_write_messages(
  p_member_a uuid, p_member_b uuid, p_senders uuid[], p_client_ids text[], p_bodies text[],
  p_audio_keys text[], p_hidden boolean[], p_now timestamptz
) RETURNS TABLE (out_seq bigint, out_box text, out_unread integer) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_senders, 1), 0) LOOP
    SELECT w.out_seq, w.out_box, w.out_unread INTO out_seq, out_box, out_unread
    FROM chat_write_message(p_member_a, p_member_b, p_senders[i],
      CASE WHEN p_senders[i] = p_member_a THEN p_member_b ELSE p_member_a END,
      p_client_ids[i], p_bodies[i], p_audio_keys[i], false, p_hidden[i], p_now, false) AS w;
    RETURN NEXT;
  END LOOP;
END $$;
