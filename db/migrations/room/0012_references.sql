-- Associates issue their own invites to rooms ops opened to them, each within a quota per room.
-- associate_invite_quota is the most invites one associate may issue for the room (0 while
-- associate invites are disabled). Issuing counts an associate's own invites under the room's row
-- lock, so the index below serves that count.
ALTER TABLE rooms
  ADD COLUMN associate_invites_enabled TINYINT(1) NOT NULL DEFAULT 0,
  ADD COLUMN associate_invite_quota INT NOT NULL DEFAULT 0;
ALTER TABLE room_invites ADD KEY idx_room_invites_associate (room_id, associate_id, issued_by);
