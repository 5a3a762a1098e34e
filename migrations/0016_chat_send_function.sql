-- Storing a chat message (src/services/chat/send.ts, writeMessage) as one function call: the
-- statements inside a PL/pgSQL function are parsed and planned once per backend and then reused,
-- where the same work as one multi-CTE statement was parsed and planned on every message. One call
-- is still one statement, so one implicit transaction: a failure (the client id's unique index)
-- takes the conversation's sequence increment with it.
--
-- The recipient's inbox entry is left alone for a hidden message (out_box and out_unread stay
-- null); the `messaged` relation is written only when the caller does not already know it exists.
CREATE FUNCTION chat_write_message(
  p_member_a uuid, p_member_b uuid, p_sender uuid, p_recipient uuid, p_client_id text, p_body text,
  p_audio_key text, p_is_intro boolean, p_hidden boolean, p_now timestamptz, p_record_messaged boolean,
  OUT out_seq bigint, OUT out_box text, OUT out_unread integer
) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO conversations AS c (member_a, member_b, last_seq, created_at)
  VALUES (p_member_a, p_member_b, 1, p_now)
  ON CONFLICT (member_a, member_b) DO UPDATE SET last_seq = c.last_seq + 1
  RETURNING c.last_seq INTO out_seq;

  INSERT INTO messages (member_a, member_b, seq, sender_id, client_id, body, audio_key, is_intro,
    hidden_from_recipient, created_at)
  VALUES (p_member_a, p_member_b, out_seq, p_sender, p_client_id, p_body, p_audio_key, p_is_intro,
    p_hidden, p_now);

  INSERT INTO inbox_entries AS e (owner_id, peer_id, box, last_seq, last_sender_id, last_body, last_at,
    unread_count, read_seq, read_at)
  VALUES (p_sender, p_recipient, 'chats', out_seq, p_sender, p_body, p_now, 0, out_seq, p_now)
  ON CONFLICT (owner_id, peer_id) DO UPDATE SET box = 'chats', last_seq = excluded.last_seq,
    last_sender_id = excluded.last_sender_id, last_body = excluded.last_body, last_at = excluded.last_at,
    unread_count = 0, read_seq = excluded.read_seq, read_at = excluded.read_at;

  IF NOT p_hidden THEN
    INSERT INTO inbox_entries AS e (owner_id, peer_id, box, last_seq, last_sender_id, last_body, last_at,
      unread_count)
    VALUES (p_recipient, p_sender, 'intros', out_seq, p_sender, p_body, p_now, 1)
    ON CONFLICT (owner_id, peer_id) DO UPDATE SET last_seq = excluded.last_seq,
      last_sender_id = excluded.last_sender_id, last_body = excluded.last_body, last_at = excluded.last_at,
      unread_count = e.unread_count + 1
    RETURNING e.box::text, e.unread_count INTO out_box, out_unread;
  END IF;

  IF p_record_messaged THEN
    INSERT INTO messaged (subject_id, object_id, created_at) VALUES (p_sender, p_recipient, p_now)
    ON CONFLICT DO NOTHING;
  END IF;
END $$;
