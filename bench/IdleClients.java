import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

/**
 * Opens N client connections to a pooler at host:port as user postgres, database bench (trust
 * authentication), waits for ReadyForQuery on each and holds them all for holdMs: what
 * bench/idle-memory.sh measures pgrelay's memory against.
 * Usage: java IdleClients.java HOST PORT N HOLD_MS
 */
public class IdleClients {
    public static void main(String[] a) throws Exception {
        String host = a[0]; int port = Integer.parseInt(a[1]); int n = Integer.parseInt(a[2]); long holdMs = Long.parseLong(a[3]);
        List<Socket> sockets = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket(host, port);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            DataOutputStream d = new DataOutputStream(body);
            d.writeInt(196608);
            for (String kv : new String[] {"user", "postgres", "database", "bench", "application_name", "idle"}) {
                d.write(kv.getBytes(StandardCharsets.UTF_8)); d.write(0);
            }
            d.write(0);
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
            out.writeInt(body.size() + 4); out.write(body.toByteArray()); out.flush();
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            while (true) {
                int type = in.read(); int len = in.readInt(); in.skipNBytes(len - 4);
                if (type == 'Z') break;
                if (type == 'E' || type < 0) throw new IOException("login " + i + " failed");
            }
            sockets.add(s);
        }
        System.out.printf("opened %d idle clients in %d ms%n", n, (System.nanoTime() - t0) / 1_000_000);
        Thread.sleep(holdMs);
        for (Socket s : sockets) s.close();
    }
}
