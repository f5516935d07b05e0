package dev.microforge.vm;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A disk image or host block device given to the guest (microvm.nix {@code microvm.volumes.*}).
 *
 * @param image        host path of an image file, or of a block device (under {@code /dev/}), passed raw
 * @param size         size in MiB: a missing image is created sparse at this size, a smaller one grown; null only
 *                     for block devices and images that are not auto-created (then it is just checked)
 * @param mountPoint   where the guest mounts it, or null for a raw device the guest does not mount
 * @param fsType       file system for mkfs and mount (default ext4)
 * @param autoCreate   create (and, with a mountPoint, format) a missing image file; ignored for block devices
 * @param serial       the disk serial: the guest finds it at /dev/disk/by-id/virtio-SERIAL; default derived from
 *                     the image name ({@link Identity#serialFor})
 * @param readOnly     attach read-only
 * @param direct       O_DIRECT / cache=none
 * @param label        file system label given by mkfs when auto-created
 * @param mkfsExtraArgs extra arguments for mkfs
 * @param imageType    the image format the hypervisor reads: raw (default), qcow2, vhd, vhdx; microforge creates raw
 *                     images only
 */
public record Volume(String image, Integer size, String mountPoint, String fsType, boolean autoCreate, String serial,
                     boolean readOnly, boolean direct, String label, List<String> mkfsExtraArgs, String imageType) {
    public static final List<String> IMAGE_TYPES = List.of("raw", "qcow2", "vhd", "vhdx");
    static final Pattern FS_TYPE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,31}");

    public Volume {
        Check.path("image", image);
        if (size != null) {
            Check.range("size", size, 1, Integer.MAX_VALUE, " MiB");
        }
        if (mountPoint != null) {
            Check.guestPath("mountPoint", mountPoint);
        }
        if (fsType == null) {
            fsType = "ext4";
        }
        if (!FS_TYPE.matcher(fsType).matches()) {
            throw new SpecError("fsType", "'" + fsType + "' is not a file system type (expected e.g. ext4, xfs, btrfs, vfat)");
        }
        serial = serial == null ? Identity.serialFor(image) : Check.token("serial", serial, Identity.SERIAL_MAX, "serial");
        mkfsExtraArgs = Check.strings("mkfsExtraArgs", mkfsExtraArgs);
        boolean block = image.startsWith("/dev/");
        if (imageType == null) {
            imageType = "raw";
        }
        Check.oneOf("imageType", imageType, IMAGE_TYPES);
        if (!imageType.equals("raw") && autoCreate && !block) {
            throw new SpecError("imageType", imageType + " with autoCreate: microforge creates raw images only; create the "
                    + imageType + " image yourself (qemu-img create) and set autoCreate to false");
        }
        if (!block && autoCreate && size == null) {
            throw new SpecError("size", "is required when autoCreate is true (the size in MiB of the image to create)");
        }
        if (label != null) {
            Check.token("label", label, 16, "label");
            if (block || !autoCreate || mountPoint == null) {
                throw new SpecError("label", "is only applied when the image is auto-created and formatted (autoCreate true, a mountPoint, not a block device)");
            }
        }
        if (!mkfsExtraArgs.isEmpty() && (block || !autoCreate || mountPoint == null)) {
            throw new SpecError("mkfsExtraArgs", "is only used when the image is auto-created and formatted (autoCreate true, a mountPoint, not a block device)");
        }
    }

    /** A host block device (a path under /dev/): passed raw, never created, resized or formatted. */
    public boolean isBlockDevice() {
        return image.startsWith("/dev/");
    }

    /** Created as a file and formatted with mkfs.fsType when missing. */
    public boolean formatsOnCreate() {
        return autoCreate && mountPoint != null && !isBlockDevice();
    }
}
