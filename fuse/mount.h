/* mount.h: the commands of the FUSE front end that the udax command runs. */
#ifndef UDAX_MOUNT_H
#define UDAX_MOUNT_H

/* udax mount POOL DIR [options]: argv[0] is "mount"; returns the exit status. */
int mount_command(int argc, char **argv);
/* udax umount DIR: argv[0] is "umount"; returns the exit status. */
int umount_command(int argc, char **argv);

#endif
