/* image_wire_int.h - shared between image_wire.c (stream, header, pages) and
 * image_wire_proc.c (the process chunk); nothing else includes it. */
#pragma once
#include "migrate/image.h"
#include "proto/image.pb-c.h"

/* The process chunk of img, ready to pack (it points into img: keep img alive meanwhile).
 * NULL if out of memory. Caller owns it: mig_proc_msg_free(). */
struct mig_proc_msg *mig_proc_msg_build(const struct mig_image *img);
Omx__ImgProcess *mig_proc_msg_body(struct mig_proc_msg *m);
void mig_proc_msg_free(struct mig_proc_msg *m);

/* Fills img (whose header is already decoded) from p. 0, -EBADMSG or -ENOMEM. */
int mig_proc_decode(const Omx__ImgProcess *p, struct mig_image *img);
